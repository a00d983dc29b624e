"""``doctor --url``: what a browser without a session sees of a deployment, checked step by step.

The requests carry no cookie and follow no redirect on their own: each answer is read as it is
(status, ``Location``, every ``Set-Cookie``), and only the logout path's own single-value chain
(``?shard=N`` back to the logout path) is followed, at most ``MAX_LOGOUT_HOPS`` times.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

from streamlit_alb_auth.doctor import Check, fail, ok, warn
from streamlit_alb_auth.doctor.headers import expires_now, hsts_max_age, set_cookies
from streamlit_alb_auth.doctor.revocation import scope_check
from streamlit_alb_auth.errors import ConfigurationError, FetchError
from streamlit_alb_auth.fetch import Fetcher, FetchResponse, is_loopback_host
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE, SHARDS

MAX_LOGOUT_HOPS = SHARDS + 2
CALLBACK_PATH = "/oauth2/idpresponse"
REDIRECTS = (301, 302, 303, 307, 308)
LOGOUT_RETURN_PARAMS = ("logout_uri", "post_logout_redirect_uri")
HSTS_MIN_SECONDS = 180 * 24 * 3600


@dataclass
class _Site:
    base: str  # scheme://host[:port], no trailing slash
    loopback_http: bool
    fetcher: Fetcher
    client_id: str = ""
    seen: list[FetchResponse] = field(default_factory=list)

    def get(self, url: str) -> FetchResponse:
        response = self.fetcher.get(url, any_status=True)
        self.seen.append(response)
        return response

    def same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}".lower() == self.base.lower()


def check_deployment(
    url: str,
    *,
    logout_path: str = LOGOUT_PATH,
    health_path: str = "/_stcore/health",
    cookie_name: str = SESSION_COOKIE,
    fetcher: Fetcher,
) -> list[Check]:
    """Check the deployment at ``url`` from outside; see ``streamlit-alb-auth doctor --help``.

    Examples
    --------
    >>> from streamlit_alb_auth.doctor import doctor_fetcher
    >>> checks = check_deployment("https://app.example.com/", fetcher=doctor_fetcher())  # doctest: +SKIP
    >>> [check.name for check in checks if check.status == "fail"]  # doctest: +SKIP
    []
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            fail("url", f"{url!r} is not an http(s) URL", "pass the URL users open, https://app.example.com/")
        ]
    loopback_http = parts.scheme == "http" and is_loopback_host(parts.hostname)
    if parts.scheme == "http" and not loopback_http:
        return [
            fail(
                "tls",
                f"{url} is plain HTTP: sign-in cookies and tokens would cross the network unencrypted",
                "serve the app on an HTTPS listener (and redirect port 80 to it), then pass the https:// URL",
            )
        ]
    site = _Site(f"{parts.scheme}://{parts.netloc}", loopback_http, fetcher)
    try:
        root = site.get(url)
    except FetchError as error:
        return [_unreachable(url, error)]
    checks = [_tls(site), _sign_in(site, root), *_revocation(site, root), _health(site, health_path)]
    logout, back = _logout(site, logout_path, cookie_name)
    checks += [logout, _signed_out(site, back), _hsts(site)]
    return checks


def _unreachable(url: str, error: FetchError) -> Check:
    if isinstance(error.__cause__, ssl.SSLError):
        return fail(
            "tls",
            f"TLS to {url} failed: {error.__cause__}",
            "give the HTTPS listener an ACM certificate that covers this host name, and use that name",
        )
    if isinstance(error, ConfigurationError):
        return fail("url", str(error), "pass the URL users open, https://app.example.com/")
    return fail(
        "reach", f"{url}: {error}", "check DNS, the load balancer's security group (443 open) and the URL"
    )


def _tls(site: _Site) -> Check:
    if site.loopback_http:
        return warn(
            "tls",
            "plain HTTP on loopback (the local stand-in): TLS cannot be checked here; "
            "a deployment must use https",
        )
    return ok("tls", f"certificate of {site.base} is valid and trusted (verified like a browser would)")


def _authorize_query(site: _Site, response: FetchResponse) -> dict[str, str] | None:
    """The query of a redirect to an OAuth authorize endpoint, one value a name; else ``None``."""
    location = response.headers.get("location", "")
    if response.status not in REDIRECTS or "authorize" not in urlsplit(location).path:
        return None
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def _sign_in(site: _Site, root: FetchResponse) -> Check:
    query = _authorize_query(site, root)
    if query is None:
        if root.status == 200:
            return fail(
                "sign-in",
                "/ answers 200 without a session: the app is open to anyone",
                "make the HTTPS listener's default action authenticate (authenticate-cognito or -oidc) "
                "before forward",
            )
        where = root.headers.get("location", "")
        return fail(
            "sign-in",
            f"/ answers HTTP {root.status}{' to ' + where if where else ''}, not a redirect to sign in",
            "authenticate / with OnUnauthenticatedRequest: authenticate (deny answers 401 to browsers)",
        )
    site.client_id = query.get("client_id", "")
    callback = query.get("redirect_uri", "")
    endpoint = root.headers["location"].split("?", 1)[0]
    problems = []
    if query.get("response_type") != "code":
        problems.append(f"response_type is {query.get('response_type')!r}, not 'code'")
    if not site.client_id:
        problems.append("no client_id")
    if callback != site.base + CALLBACK_PATH and callback.lower() != (site.base + CALLBACK_PATH).lower():
        problems.append(f"callback {callback!r} is not {site.base}{CALLBACK_PATH}")
    if not site.loopback_http and not endpoint.startswith("https://"):
        problems.append(f"the authorize endpoint {endpoint} is not https")
    if problems:
        return fail(
            "sign-in",
            "/ redirects to sign in, but " + "; ".join(problems),
            f"list {site.base}{CALLBACK_PATH} as the app client's callback URL and open the app by that host",
        )
    return ok("sign-in", f"/ redirects to {endpoint} (client_id={site.client_id}, callback={callback})")


def _revocation(site: _Site, root: FetchResponse) -> list[Check]:
    """What the sign-in redirect shows of revocation: the scope the ALB asks Cognito for."""
    query = _authorize_query(site, root)
    endpoint = urlsplit(root.headers.get("location", ""))
    cognito = endpoint.path == "/oauth2/authorize" or (endpoint.hostname or "").endswith(".amazoncognito.com")
    if query is None or not cognito:
        return []  # another provider: revocation is its own (README: logout with other providers)
    return [scope_check(query.get("scope"), "the ALB's sign-in")]


def _health(site: _Site, path: str) -> Check:
    try:
        response = site.get(site.base + path)
    except FetchError as error:
        return fail("health", f"{path}: {error}", "check that the tasks are running and healthy")
    if response.status == 200:
        return ok("health", f"{path} answers 200 without sign-in (load balancer health checks pass)")
    if _authorize_query(site, response) is not None:
        return fail(
            "health",
            f"{path} redirects to sign in: health probes from outside carry no session",
            f"add a listener rule forwarding {path} without authenticate, "
            "evaluated before any rule that does",
        )
    return fail(
        "health", f"{path} answers HTTP {response.status}", "check the target group's health and tasks"
    )


def _logout(site: _Site, path: str, cookie_name: str) -> tuple[Check, str]:
    """Follow the logout path's answers; the check, and where the IdP sends the user back ('' if unknown)."""
    url, expired, hops = site.base + path, {}, 0
    while True:
        try:
            response = site.get(url)
        except FetchError as error:
            return fail("logout", f"{path}: {error}", "route the logout path to the logout Lambda"), ""
        if hops == 0 and _authorize_query(site, response) is not None:
            return fail(
                "logout",
                f"{path} redirects to sign in: an expired session could not log out",
                "route the logout path without authenticate (or OnUnauthenticatedRequest: allow)",
            ), ""
        if response.status not in REDIRECTS:
            return fail(
                "logout",
                f"{path} answers HTTP {response.status}, not a redirect",
                "route the logout path to the logout Lambda target group (`template logout-stack`)",
            ), ""
        expired.update({n: f for n, f in set_cookies(response).items() if expires_now(f)})
        hops += 1
        url = urljoin(url, response.headers.get("location", ""))
        if not (site.same_origin(url) and urlsplit(url).path == path) or hops >= MAX_LOGOUT_HOPS:
            break
    return _logout_outcome(site, path, cookie_name, expired, hops, url)


def _logout_outcome(
    site: _Site, path: str, cookie_name: str, expired: dict[str, dict[str, str]], hops: int, final: str
) -> tuple[Check, str]:
    shards = [f"{cookie_name}-{n}" for n in range(SHARDS)]
    missing = [name for name in shards if name not in expired]
    if missing:
        others = sorted(set(expired) - set(shards))
        hint = f" (it expires {', '.join(others)}: is the cookie name {cookie_name}?)" if others else ""
        return fail(
            "logout",
            f"{path} leaves {', '.join(missing)} alive after {hops} answer(s){hint}",
            "enable lambda.multi_value_headers on the logout target group, or deploy the logout Lambda that "
            "chains ?shard=N; set SESSION_COOKIE_NAME to the listener's SessionCookieName "
            "(--cookie-name here)",
        ), ""
    wrong_path = [name for name in shards if expired[name].get("path", "/") != "/"]
    if wrong_path:
        return fail(
            "logout",
            f"{', '.join(wrong_path)} expired on another Path than /: the browser keeps the real cookie",
            "expire each shard with Path=/",
        ), ""
    query = {name: values[0] for name, values in parse_qs(urlsplit(final).query).items()}
    back = next((query[name] for name in LOGOUT_RETURN_PARAMS if name in query), "")
    if not back:
        return fail(
            "logout",
            f"{path} expires every shard but ends at {final.split('?', 1)[0]}, not the IdP's logout endpoint",
            "redirect to the IdP logout (Cognito /logout?client_id=&logout_uri=): otherwise the IdP's own "
            "session signs the user straight back in",
        ), ""
    if "client_id" in query and site.client_id and query["client_id"] != site.client_id:
        return fail(
            "logout",
            f"the IdP logout names client_id={query['client_id']}, sign-in uses {site.client_id}",
            "set the logout Lambda's COGNITO_CLIENT_ID to the listener's app client",
        ), ""
    chain = "one answer" if hops == 1 else f"a chain of {hops} single-value answers"
    return ok(
        "logout",
        f"{path} expires {cookie_name}-0..{SHARDS - 1} in {chain}, "
        f"then {final.split('?', 1)[0]} (back to {back})",
    ), back


def _signed_out(site: _Site, back: str) -> Check:
    if not back:
        return warn("signed-out", "not checked: the logout check did not reach the IdP's logout")
    if not site.same_origin(back):
        return warn("signed-out", f"after logout the IdP sends users to {back}, off this app: not checked")
    try:
        response = site.get(back)
    except FetchError as error:
        return fail("signed-out", f"{back}: {error}", "serve the signed-out page")
    if response.status == 200:
        return ok("signed-out", f"{urlsplit(back).path} is public: users see that they signed out")
    if _authorize_query(site, response) is not None:
        if urlsplit(back).path in ("", "/"):
            return warn(
                "signed-out",
                "after logout users come back to / and go straight to the sign-in page",
                "give them a public signed-out page (stack.yaml's signed-out rule) as the logout URL",
            )
        return fail(
            "signed-out",
            f"the signed-out page {urlsplit(back).path} requires sign-in, so logout ends on a sign-in page",
            "answer the signed-out path with a rule that does not authenticate (a fixed response)",
        )
    return fail("signed-out", f"{back} answers HTTP {response.status}", "serve the signed-out page")


def _hsts(site: _Site) -> Check:
    if site.loopback_http:
        return warn(
            "hsts", "plain HTTP on loopback: Strict-Transport-Security only counts over HTTPS; not checked"
        )
    values = [
        r.headers["strict-transport-security"] for r in site.seen if "strict-transport-security" in r.headers
    ]
    fix = (
        "set routing.http.response.strict_transport_security.header_value on the HTTPS listener "
        '(e.g. "max-age=31536000"), or send the header from a proxy in front'
    )
    if not values:
        return warn(
            "hsts", "no Strict-Transport-Security header: a first visit by http:// can be intercepted", fix
        )
    age = hsts_max_age(values[0])
    if age < HSTS_MIN_SECONDS:
        return warn("hsts", f"Strict-Transport-Security max-age is {age} s, under 180 days", fix)
    return ok("hsts", f"Strict-Transport-Security: {values[0]}")
