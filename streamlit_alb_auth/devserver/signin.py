"""The Cognito side: a hosted-UI sign-in page, authorization codes, token refresh, ``/logout``,
``/oauth2/userInfo``, and the ``GlobalSignOut`` API call (on ``COGNITO_IDP_PATH``, the logout Lambda's
``COGNITO_IDP_ENDPOINT``).

It refuses what Cognito refuses, each rule with the AWS document that states it:
  * the client id, registered callback URLs and allowed scopes at ``/oauth2/authorize`` (Cognito
    developer guide, "The redirect and authorization endpoint");
  * ``/logout`` only with the client's id and a ``logout_uri`` that is exactly one of its sign-out URLs
    (developer guide, "The managed login sign-out endpoint: /logout"), else an error page;
  * ``GlobalSignOut`` only with a live access token that has the scope ``aws.cognito.signin.user.admin``
    (API reference, GlobalSignOut), answering as Cognito's JSON API does: HTTP 400 and
    ``{"__type": "NotAuthorizedException", "message": ...}``; it revokes the user's refresh tokens, not the
    managed-login sessions of their browsers ("doesn't clear the managed login session cookie").
Its own sign-in session lives in a ``cognito`` cookie for ``managed_login_seconds`` (Cognito: 60
minutes, ``config.MANAGED_LOGIN_SECONDS``) and ends only at ``/logout`` in that browser, so signing out
of the app alone leaves you signed in here, as a logout that skips Cognito's ``/logout`` does.
"""

from __future__ import annotations

import html
import json
import secrets
import string
import time
from importlib import resources
from urllib.parse import urlencode

import jwt
from aiohttp import web

from streamlit_alb_auth.devserver.config import CALLBACK_PATH, COGNITO_IDP_PATH, DEFAULT_SCOPE, DevConfig
from streamlit_alb_auth.devserver.session import AlbSession, Revocations
from streamlit_alb_auth.devserver.users import DevUser
from streamlit_alb_auth.localidp import LocalOidcProvider

SIGN_IN_COOKIE = "cognito"
CODE_SECONDS = 300
SIGN_OUT_SCOPE = "aws.cognito.signin.user.admin"
# The stand-in's app client allows what stack.yaml's UserPoolClient allows (AllowedOAuthScopes).
CLIENT_SCOPES = frozenset(DEFAULT_SCOPE.split())
_PAGE = string.Template(resources.files(__package__).joinpath("signin.html").read_text("utf-8"))


def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def error_page(status: int, message: str) -> web.Response:
    body = f"<!doctype html><title>Error</title><h1>{status}</h1><p>{html.escape(message)}</p>"
    return web.Response(status=status, text=body, content_type="text/html")


def cognito_error_page(error: str) -> web.Response:
    """Where managed login lands a request it refuses: its generic error page, the reason in words."""
    body = (
        "<!doctype html><title>Error</title><h1>An error was encountered with the requested page.</h1>"
        f"<p>{html.escape(error)}</p>"
    )
    return web.Response(
        status=400, text=body, content_type="text/html", headers={"Cache-Control": "no-store"}
    )


def _cognito_error(kind: str, message: str) -> web.Response:
    """How Cognito's JSON API refuses a call: 400, the exception name in a header and the body."""
    headers = {"x-amzn-ErrorType": f"{kind}:", "Content-Type": "application/x-amz-json-1.1"}
    body = json.dumps({"__type": kind, "message": message})
    return web.Response(status=400, text=body, headers=headers)


def invalid_token() -> web.Response:
    challenge = 'Bearer error="invalid_token", error_description="Access token is not valid"'
    return web.json_response({"error": "invalid_token"}, status=401, headers={"WWW-Authenticate": challenge})


class HostedUi:
    """Sign-in sessions and one-time codes for the users of ``config``, kept in memory."""

    def __init__(self, config: DevConfig, pool: LocalOidcProvider) -> None:
        self.config = config
        self.pool = pool
        self._users = {user.email: user for user in config.users}
        self._sign_ins: dict[str, tuple[DevUser, float]] = {}  # cookie -> (user, until)
        self._codes: dict[str, tuple[DevUser, str, float, str]] = {}  # code -> (user, callback, until, scope)
        self.revocations = Revocations()

    def allowed_callback_urls(self) -> frozenset[str]:
        hosts = {self.config.public_host, "127.0.0.1"}
        return frozenset(f"http://{host}:{self.config.port}{CALLBACK_PATH}" for host in hosts)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/oauth2/authorize", self.authorize),
            web.post("/login", self.login),
            web.get("/logout", self.logout),
            web.route("*", "/oauth2/userInfo", self.user_info),
            web.post(COGNITO_IDP_PATH, self.cognito_idp),
        ]

    def redeem(self, code: str, redirect_uri: str) -> tuple[DevUser, str] | None:
        """The token endpoint's check: a code works once, before it expires, for its own callback.
        The user and the scopes they were granted."""
        found = self._codes.pop(code, None)
        if found is None:
            return None
        user, bound_uri, expires_at, scope = found
        return (user, scope) if bound_uri == redirect_uri and time.time() < expires_at else None

    def refresh(self, session: AlbSession) -> bool:
        """The token endpoint's refresh grant: the session's refresh token still works unless the user
        signed out everywhere since it was issued (GlobalSignOut: "no longer accepts a signed-out user's
        refresh tokens"), or is gone from the pool."""
        known = any(user.sub == session.sub for user in self.config.users)
        return known and self.revocations.allows(session.sub, session.issued_at)

    def _check_client(self, client_id: str, redirect_uri: str, scope: str) -> str | None:
        if client_id != self.config.client_id:
            return "unknown client_id"
        if redirect_uri not in self.allowed_callback_urls():
            return "redirect_mismatch: redirect_uri is not a registered callback URL"
        if not scope or not set(scope.split(" ")) <= CLIENT_SCOPES:
            return "invalid_scope: the app client does not allow every scope asked for"
        return None

    def _redirect_with_code(self, user: DevUser, redirect_uri: str, state: str, scope: str) -> web.Response:
        now = time.time()
        self._codes = {code: found for code, found in self._codes.items() if found[2] > now}
        code = secrets.token_urlsafe(24)
        self._codes[code] = (user, redirect_uri, now + CODE_SECONDS, scope)
        return redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    def _signed_in(self, request: web.Request) -> DevUser | None:
        """This browser's managed-login session, if it has one that has not outlived its validity."""
        found = self._sign_ins.get(request.cookies.get(SIGN_IN_COOKIE, ""))
        return found[0] if found is not None and time.time() < found[1] else None

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if query.get("response_type") != "code":
            return error_page(400, "unsupported response_type")
        redirect_uri, state, scope = (
            query.get("redirect_uri", ""),
            query.get("state", ""),
            query.get("scope", ""),
        )
        problem = self._check_client(query.get("client_id", ""), redirect_uri, scope)
        if problem:
            return error_page(400, problem)
        signed_in = self._signed_in(request)
        # prompt=login: sign in again even with a managed-login session (OIDC Core 3.1.2.1; Cognito's
        # authorization endpoint accepts it on managed login).
        if signed_in is not None and query.get("prompt") != "login":
            return self._redirect_with_code(signed_in, redirect_uri, state, scope)
        fields = {
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": scope,
        }
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in fields.items()
        )
        forms = "".join(
            f'<form method="post" action="/login">{hidden}'
            f'<button name="email" value="{html.escape(user.email)}">Sign in as {html.escape(user.email)}'
            f"<br><span>groups: {html.escape(', '.join(user.groups) or 'none')}</span></button></form>"
            for user in self.config.users
        )
        page = _PAGE.substitute(forms=forms)
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        redirect_uri, state = str(form.get("redirect_uri", "")), str(form.get("state", ""))
        scope = str(form.get("scope", ""))
        problem = self._check_client(str(form.get("client_id", "")), redirect_uri, scope)
        if problem:
            return error_page(400, problem)
        user = self._users.get(str(form.get("email", "")))
        if user is None:
            return error_page(400, "unknown user")
        sign_in, seconds = secrets.token_urlsafe(32), self.config.managed_login_seconds
        now = time.time()
        self._sign_ins = {key: found for key, found in self._sign_ins.items() if found[1] > now}
        self._sign_ins[sign_in] = (user, now + seconds)
        answer = self._redirect_with_code(user, redirect_uri, state, scope)
        answer.set_cookie(SIGN_IN_COOKIE, sign_in, path="/", httponly=True, samesite="Lax", max_age=seconds)
        return answer

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """Cognito's ``/logout``: end the sign-in, then go to ``logout_uri`` (the registered one)."""
        return self.sign_out(request, "logout_uri")

    def sign_out(self, request: web.Request, return_parameter: str) -> web.Response:
        """End this browser's sign-in session, then go to the URL in ``return_parameter``, which must be
        exactly the client's sign-out URL (no prefix, no extra query); the next sign-in asks who you are
        again. Anything else ends nothing and gets the error page."""
        if request.query.get("client_id") != self.config.client_id:
            return cognito_error_page("invalid_request: unknown client_id")
        back = request.query.get(return_parameter, "")
        if back != self.config.as_opened(request.host).sign_out_url:
            return cognito_error_page(
                f"redirect_mismatch: {return_parameter} is not a sign-out URL of the client"
            )
        self._sign_ins.pop(request.cookies.get(SIGN_IN_COOKIE, ""), None)
        answer = redirect(back)
        answer.del_cookie(SIGN_IN_COOKIE, path="/")
        return answer

    def live_claims(
        self, token: str, *, audience: str | None = None, require: tuple[str, ...] = ()
    ) -> dict | None:
        """The claims of a live access token of ours: signed by the provider, unexpired, not revoked."""
        claims, _ = self.checked_claims(token, audience=audience, require=require)
        return claims

    def checked_claims(
        self, token: str, *, audience: str | None = None, require: tuple[str, ...] = ()
    ) -> tuple[dict | None, str]:
        """A token's claims, or ``None`` and Cognito's word for why not (its API's messages)."""
        try:
            claims = jwt.decode(
                token,
                self.pool.private_key.public_key(),
                algorithms=["RS256"],
                issuer=self.pool.issuer,
                audience=audience,
                options={"require": ["exp", "iat", "iss", "sub", *require]},
            )
        except jwt.ExpiredSignatureError:
            return None, "Access Token has expired"
        except jwt.InvalidTokenError:
            return None, "Invalid Access Token"
        if not self.revocations.allows(claims["sub"], claims["iat"]):
            return None, "Access Token has been revoked"
        return claims, ""

    def _access_claims(self, token: str) -> tuple[dict | None, str]:
        """A live Cognito access token's claims (its ID tokens say ``token_use`` = id), or why not."""
        claims, why = self.checked_claims(token, require=("token_use",))
        if claims is not None and claims["token_use"] != "access":  # noqa: S105 - a claim value
            return None, "Invalid Access Token"
        return claims, why

    async def user_info(self, request: web.Request) -> web.StreamResponse:
        """Cognito's userInfo: a valid access token of ours buys the user's attributes as JSON."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        claims = self._access_claims(token)[0] if scheme.lower() == "bearer" else None
        user = next((user for user in self.config.users if claims and user.sub == claims["sub"]), None)
        if user is None:
            return invalid_token()
        return web.json_response(
            {"sub": user.sub, "email_verified": "true", "email": user.email, "username": user.username}
        )

    async def cognito_idp(self, request: web.Request) -> web.StreamResponse:
        """``GlobalSignOut``: the user's refresh tokens (and access tokens, for Cognito's own API) die
        now; their ALB sessions at their next refresh. Only an access token with the scope
        ``aws.cognito.signin.user.admin`` may ask (Cognito API reference, GlobalSignOut)."""
        target = request.headers.get("X-Amz-Target", "")
        if target != "AWSCognitoIdentityProviderService.GlobalSignOut":
            return _cognito_error("UnknownOperationException", "only GlobalSignOut is served here")
        try:
            token = json.loads(await request.read())["AccessToken"]
            claims, why = (
                self._access_claims(token) if isinstance(token, str) else (None, "Invalid Access Token")
            )
        except (ValueError, KeyError, TypeError):
            return _cognito_error("InvalidParameterException", "AccessToken is required")
        if claims is None:
            return _cognito_error("NotAuthorizedException", why)
        if SIGN_OUT_SCOPE not in str(claims.get("scope", "")).split(" "):
            return _cognito_error("NotAuthorizedException", "Access Token does not have required scopes")
        self.revocations.revoke(claims["sub"])
        return web.Response(text="{}", content_type="application/x-amz-json-1.1")
