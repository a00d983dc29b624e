"""ALB logout target: expire the ALB session cookies, revoke the tokens, sign out of the IdP.

Standard library only, inlined into the templates; the one logout logic and home of its constants.
The Lambda, the app's logout route and the stand-in all run ``handle(event, env)``, each with its
own settings mapping.

- ``verdict``: a request Fetch Metadata or ``Origin`` says another site sent (``same-site`` too: a
  sibling subdomain is not the app) gets a page whose same-origin form logs out; nothing else
  happens. Same-origin, typed URLs and clients sending neither header log out. GET and POST only.
- ``plan(env, query, multi)`` (pure) gives the ``Set-Cookie`` values, the ``Location`` and the
  ``GlobalSignOut`` endpoint (``""``: none), or raises ``ValueError`` for wrong settings. Single-value
  headers expire shard N and redirect to ``?shard=N+1`` (read strictly, clamped), the last to the IdP.
- The destination comes from configuration alone: Cognito's ``/logout`` or ``IDP_LOGOUT_URL``, back
  to ``APP_LOGOUT_URL``. A refused ``GlobalSignOut`` is logged with why and what to do, from
  Cognito's error type, never its text or the token.

    >>> env = {"IDP_LOGOUT_URL": "https://id.example/logout", "APP_LOGOUT_URL": "https://app.example/"}
    >>> plan(env, {"shard": "1"}, multi=False).cookies[0].split(";")[0]
    'AWSELBAuthSessionCookie-1='
    >>> verdict("POST", "cross-site", "https://evil.example", "https://app.example")
    'confirm'
"""

import http.client
import json
import logging
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import NamedTuple
from urllib.parse import urlencode

log = logging.getLogger(__name__)
LOGOUT_PATH = "/cognito/logout"
SESSION_COOKIE = "AWSELBAuthSessionCookie"
SHARDS = 4
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOST = re.compile(rf"(?=.{{4,253}}$){LABEL}(\.{LABEL})+")
ORIGIN = rf"(https://{LABEL}(\.{LABEL})*|http://(localhost|127\.0\.0\.1))(:\d+)?"
URL = re.compile(rf"{ORIGIN}([/?][!-~]*)?", re.IGNORECASE)
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
CLIENT = re.compile(r"[A-Za-z0-9]{1,128}")
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
PARAM = re.compile(r"[A-Za-z0-9_.-]{1,64}")
JWT = re.compile(r"[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+")
# GlobalSignOut needs this scope in the access token (Cognito API reference, GlobalSignOut).
SIGN_OUT_SCOPE = "aws.cognito.signin.user.admin"
MISSING_SCOPE = (
    f"the access token lacks the scope {SIGN_OUT_SCOPE}, so nothing was revoked and a copy of this "
    "session cookie keeps working until SessionTimeout. Fix: request the scope in the app client's "
    "AllowedOAuthScopes and in the Scope of every ALB authenticate rule (stack.yaml asks for it; with "
    "logout.yaml, its Scope parameter and the listener's own rules); users get it at their next sign-in"
)
# Cognito's NotAuthorizedException messages, read for a cause; what is logged is ours, never theirs.
NOT_AUTHORIZED = (
    ("scope", MISSING_SCOPE),
    ("revoked", "the access token was already revoked (signed out elsewhere): nothing left to revoke"),
    (
        "expired",
        "the access token had expired, so this call revoked nothing; the ALB's refresh token "
        "lives on until SessionTimeout unless the user signs out again with a fresh session",
    ),
)
# A request another site may have sent: its form posts to this path, with no query, from here.
CONFIRM = (
    "<!doctype html><meta charset=utf-8><title>Log out?</title><form method=post action=?>"
    "<p>Log out of this app?</p><button>Log out</button></form>"
)
THROTTLED = (
    "Cognito throttled the call, so nothing was revoked and a copy of this session cookie keeps "
    "working until SessionTimeout; if it recurs, raise the user pool's request-rate quota (Cognito quotas)"
)


class Plan(NamedTuple):
    location: str
    cookies: list
    revoke_url: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object) -> None:
        return None


def _env(env: Mapping, name: str, default: str = "") -> str:
    return str(env.get(name, "")).strip() or default


def _url(env: Mapping, name: str) -> str:
    url = _env(env, name)
    if not url:
        raise ValueError(f"{name} is not set (an https URL; http only on localhost)")
    if not URL.fullmatch(url) or "#" in url:
        raise ValueError(f"{name} must be an https URL (http only on localhost)")
    return url


def _cognito_logout(env: Mapping, back: str) -> str:
    client_id, domain = _env(env, "COGNITO_CLIENT_ID"), _env(env, "COGNITO_DOMAIN").lower()
    if not CLIENT.fullmatch(client_id):
        raise ValueError("COGNITO_CLIENT_ID must be the app client id (letters, digits)")
    if domain and not HOST.fullmatch(domain):
        raise ValueError("COGNITO_DOMAIN must be a bare host name like auth.example.com")
    if not domain:
        prefix, region = _env(env, "COGNITO_USER_POOL_DOMAIN_PREFIX"), _env(env, "AWS_REGION")
        if not re.fullmatch(LABEL, prefix):
            raise ValueError("set COGNITO_DOMAIN, or COGNITO_USER_POOL_DOMAIN_PREFIX (a-z 0-9 -)")
        if not REGION.fullmatch(region):
            raise ValueError(f"AWS_REGION {region!r} is not a region name")
        domain = f"{prefix}.auth.{region}.amazoncognito.com"
    return f"https://{domain}/logout?" + urlencode({"client_id": client_id, "logout_uri": back})


def _oidc_logout(env: Mapping, back: str) -> str:
    url, param = _url(env, "IDP_LOGOUT_URL"), _env(env, "IDP_REDIRECT_PARAM", "post_logout_redirect_uri")
    client_id = _env(env, "IDP_CLIENT_ID")
    if not PARAM.fullmatch(param):
        raise ValueError("IDP_REDIRECT_PARAM must be a query parameter name")
    if client_id and not PARAM.fullmatch(client_id):
        raise ValueError("IDP_CLIENT_ID must be a client id (letters, digits, _ . -)")
    query = {param: back, **({"client_id": client_id} if client_id else {})}
    return url + ("&" if "?" in url else "?") + urlencode(query)


def _revoke_url(env: Mapping) -> str:
    if _env(env, "IDP_LOGOUT_URL"):
        return ""
    if _env(env, "COGNITO_IDP_ENDPOINT"):
        return _url(env, "COGNITO_IDP_ENDPOINT")
    region = _env(env, "AWS_REGION")
    return f"https://cognito-idp.{region}.amazonaws.com/" if REGION.fullmatch(region) else ""


def _hop(query: Mapping) -> int:
    value = query.get("shard")
    value = value[0] if isinstance(value, list) and len(value) == 1 else value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,3}", value):
        return 0
    return min(int(value), SHARDS - 1)


def _expired(name: str) -> str:
    return f"{name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; HttpOnly"


def plan(env: Mapping, query: Mapping, multi: bool) -> Plan:
    """What to answer a logout request with; ``query`` maps a name to a value or a list of them."""
    back, cookie = _url(env, "APP_LOGOUT_URL"), _env(env, "SESSION_COOKIE_NAME", SESSION_COOKIE)
    if not TOKEN.fullmatch(cookie):
        raise ValueError("SESSION_COOKIE_NAME must be a cookie name (no space, =, ;)")
    idp = _oidc_logout(env, back) if _env(env, "IDP_LOGOUT_URL") else _cognito_logout(env, back)
    revoke_url = _revoke_url(env)
    if multi:
        return Plan(idp, [_expired(f"{cookie}-{shard}") for shard in range(SHARDS)], revoke_url)
    shard = _hop(query)
    location = idp if shard == SHARDS - 1 else f"?shard={shard + 1}"
    return Plan(location, [_expired(f"{cookie}-{shard}")], revoke_url)


def global_sign_out(url: str, token: str, timeout: float = 2.0) -> bool:
    """Cognito ``GlobalSignOut`` with the user's access token, all of it within ``timeout`` seconds.

    Never raises; a failure is logged without the token, and the caller logs out regardless.
    """
    body = json.dumps({"AccessToken": token}).encode()
    target = "AWSCognitoIdentityProviderService.GlobalSignOut"
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    outcome = ["no answer within the timeout"]

    def post() -> None:
        try:
            with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as answer:
                answer.read(4096)
            outcome[0] = ""
        except urllib.error.HTTPError as error:
            outcome[0] = refusal(error.code, error.headers.get("x-amzn-ErrorType", ""), error.read(4096))
        except (OSError, ValueError, http.client.HTTPException) as error:
            outcome[0] = type(error).__name__

    worker = threading.Thread(target=post, daemon=True)
    worker.start()
    worker.join(timeout)
    if outcome[0]:
        log.warning("GlobalSignOut failed (logging out anyway): %s", outcome[0])
    return not outcome[0]


def refusal(status: int, error_type: str, body: bytes) -> str:
    """Why Cognito refused, and what to do, from its error type (the header, or the body's ``__type``)
    and the gist of its message; Cognito's own text and the token never reach the log."""
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        answer = {}
    answer = answer if isinstance(answer, dict) else {}
    kind = str(error_type or answer.get("__type", "")).split(":")[0].split("#")[-1]
    kind = kind if TOKEN.fullmatch(kind) else ""
    message = str(answer.get("message") or answer.get("Message") or "").lower()
    reason = f"HTTP {status} {kind}".strip()
    if kind == "NotAuthorizedException":
        found = next((why for word, why in NOT_AUTHORIZED if word in message), "Cognito refused the token")
        return f"{reason}: {found}"
    if kind == "TooManyRequestsException":
        return f"{reason}: {THROTTLED}"
    return reason


def _header(event: dict, name: str) -> str:
    values = (event.get("multiValueHeaders") or {}).get(name) or [(event.get("headers") or {}).get(name)]
    return str(values[-1] or "")


def _origin(url: str) -> str:
    url = url.strip().lower()
    return re.sub(r"^(https://.*):443$|^(http://.*):80$", r"\1\2", url)


def verdict(method: str, site: str, origin: str, own: str) -> str:
    """``"logout"``, ``"confirm"`` (another site may have sent it) or ``"refuse"`` (not GET or POST),
    from the method, ``Sec-Fetch-Site``, ``Origin`` and the request's own origin."""
    if method not in ("GET", "POST"):
        return "refuse"
    if site.lower() not in ("", "same-origin", "none") or (origin and _origin(origin) != _origin(own)):
        return "confirm"
    return "logout"


def handle(event: dict, env: Mapping, revoke: Callable = global_sign_out) -> dict:
    """Answer an ALB event on the logout path with the settings in ``env``; ``revoke(url, token)``."""
    multi = "multiValueHeaders" in event
    query = event.get("multiValueQueryStringParameters" if multi else "queryStringParameters") or {}
    own = f"{_header(event, 'x-forwarded-proto') or 'https'}://{_header(event, 'host')}"
    site, origin = _header(event, "sec-fetch-site"), _header(event, "origin")
    act = verdict(str(event.get("httpMethod", "")), site, origin, own)
    html = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    if act == "refuse":
        return _answer(405, "405 Method Not Allowed", {**html, "Allow": "GET, POST"}, [], multi, "")
    try:
        answer = plan(env, query, multi)
    except ValueError as error:
        log.error("logout is misconfigured: %s", error)
        body = "<!doctype html><title>Logout failed</title><h1>Logout is not configured</h1>"
        return _answer(500, "500 Internal Server Error", html, [], multi, body)
    if act == "confirm":
        html["Content-Security-Policy"] = "frame-ancestors 'none'"
        return _answer(200, "200 OK", html, [], multi, CONFIRM)
    # Not "token = <header name>": secret scanners (checkov's CKV_SECRET_6) flag that keyword
    # beside a long string as a leaked secret in every template this file is inlined into.
    access = _header(event, "x-amzn-oidc-accesstoken")
    if answer.revoke_url and len(access) < 16384 and JWT.fullmatch(access):
        revoke(answer.revoke_url, access)
    headers = {"Location": answer.location, "Cache-Control": "no-store"}
    return _answer(302, "302 Found", headers, answer.cookies, multi, "")


def lambda_handler(event: dict, context: object) -> dict:
    """The Lambda's entry point: ``handle`` with the function's environment."""
    return handle(event, os.environ)


def _answer(status: int, text: str, headers: dict, cookies: list, multi: bool, body: str) -> dict:
    answer = {"statusCode": status, "statusDescription": text, "isBase64Encoded": False}
    if multi:
        answer["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
        if cookies:
            answer["multiValueHeaders"]["Set-Cookie"] = cookies
    else:
        answer["headers"] = dict(headers)
        if cookies:
            answer["headers"]["Set-Cookie"] = cookies[0]
    answer["body"] = body
    return answer
