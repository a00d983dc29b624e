"""``doctor`` without ``--url``: the app's own settings, checked where the app runs.

Run it in the app's container or folder (so its environment, ``.streamlit/secrets.toml`` and
``.streamlit/config.toml`` are the ones read): the ARN parses, the region's ALB key service and the
IdP's JWKS answer from here, this clock agrees with theirs, Streamlit's ``server.trustedUserHeaders``
maps no ``x-amzn-oidc-*`` header, the logout cookie name is the listener's, and (where the app runs
the logout route itself) that logout can revoke.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from streamlit_alb_auth.alb_arn import AlbArn
from streamlit_alb_auth.cognito import user_pool_issuer
from streamlit_alb_auth.config import AlbAuthSettings, resolve_settings
from streamlit_alb_auth.doctor import Check, fail, ok, warn
from streamlit_alb_auth.doctor.revocation import check_logout_route
from streamlit_alb_auth.errors import ConfigurationError, FetchError
from streamlit_alb_auth.fetch import Fetcher, FetchResponse
from streamlit_alb_auth.keys import regional_key_base_url
from streamlit_alb_auth.verify import DEFAULT_LEEWAY_SECONDS

COOKIE_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
CLOCK_WARN_SECONDS = 5.0
# ALB_AUTH_ISSUER only pins the data token's `iss`; groups need the user pool or the OIDC issuer.
GROUPS_SETTINGS = "ALB_AUTH_USER_POOL_ID (Cognito) or ALB_AUTH_OIDC_ISSUER (another OIDC provider)"
SETTINGS_FIX = f"set ALB_AUTH_ALB_ARN (and, for groups, {GROUPS_SETTINGS}) or [alb_auth] in secrets.toml"
REDIRECTS = range(300, 400)


def check_configuration(
    *,
    cookie_name: str,
    fetcher: Fetcher,
    environ: Mapping[str, str] | None = None,
    trusted_user_headers: Callable[[], Any] | None = None,
    clock: Callable[[], float] = time.time,
) -> list[Check]:
    """Check the settings ``get_alb_user`` would use here; see ``streamlit-alb-auth doctor --help``.

    Examples
    --------
    >>> from streamlit_alb_auth.doctor import doctor_fetcher
    >>> checks = check_configuration(cookie_name="AWSELBAuthSessionCookie", fetcher=doctor_fetcher())
    ... # doctest: +SKIP
    """
    env = os.environ if environ is None else environ
    unrelated = [
        _trusted_user_headers(trusted_user_headers or _streamlit_trusted_user_headers),
        _cookie_name(cookie_name, env),
        *filter(None, [check_logout_route(env)]),
    ]
    try:
        settings = resolve_settings({}, environ=env)
    except ConfigurationError as error:
        name = "alb-arn" if error.setting == "alb_arn" else "settings"
        return [fail(name, str(error), SETTINGS_FIX), *unrelated]
    arn_check, key_url = _alb_arn(settings)
    checks = [arn_check]
    dates: list[tuple[str, float]] = []
    if key_url:
        checks.append(_answers("key-service", key_url, fetcher, dates, needs_200=False))
    jwks_url, problem = _jwks_url(settings, fetcher, dates)
    checks.append(problem or _answers("jwks", jwks_url, fetcher, dates, needs_200=True))
    return [*checks, _clock(dates, clock), *unrelated]


def _alb_arn(settings: AlbAuthSettings) -> tuple[Check, str]:
    if not settings.alb_arns:
        return fail("alb-arn", "no ALB ARN is configured: every request would be refused", SETTINGS_FIX), ""
    try:
        arns = [AlbArn.parse(arn) for arn in settings.alb_arns]
    except ConfigurationError as error:
        return fail("alb-arn", str(error), "copy the LoadBalancerArn output of the stack"), ""
    regions = sorted({arn.region for arn in arns})
    key_url = settings.key_url or regional_key_base_url(arns[0].region, arns[0].partition)
    return ok("alb-arn", f"{len(arns)} ALB ARN(s) parse; region {', '.join(regions)}"), key_url


def _jwks_url(
    settings: AlbAuthSettings, fetcher: Fetcher, dates: list[tuple[str, float]]
) -> tuple[str, Check | None]:
    """The JWKS the group check would use (as ``auth._idp_verifier`` picks it), or why there is none."""
    if not settings.user_pool_id and not settings.oidc_issuer:
        return "", warn(
            "jwks",
            "no user pool id or OIDC issuer: access tokens are not checked, so users get no groups",
            f"set {GROUPS_SETTINGS}",
        )
    if settings.jwks_url:
        return settings.jwks_url, None
    if settings.user_pool_id:
        return f"{user_pool_issuer(settings.user_pool_id)}/.well-known/jwks.json", None
    discovery = f"{str(settings.oidc_issuer).rstrip('/')}/.well-known/openid-configuration"
    fix = "check ALB_AUTH_OIDC_ISSUER (the provider's issuer URL), or set ALB_AUTH_JWKS_URL"
    try:
        response = fetcher.get(discovery, any_status=True)
    except FetchError as error:
        return "", fail("jwks", f"{discovery} does not answer from here: {error}", fix)
    _remember_date(discovery, response, dates)
    document = _json_object(response)
    jwks_uri = document.get("jwks_uri") if response.status == 200 else None
    if not isinstance(jwks_uri, str) or not jwks_uri:
        return "", fail("jwks", f"{discovery} (HTTP {response.status}) names no jwks_uri", fix)
    return jwks_uri, None


def _answers(
    name: str, url: str, fetcher: Fetcher, dates: list[tuple[str, float]], *, needs_200: bool
) -> Check:
    """``url`` answers from here (any HTTP answer for the key service: it has no index, only keys)."""
    try:
        response = fetcher.get(url, any_status=True)
    except FetchError as error:
        return fail(
            name,
            f"{url} does not answer from here: {error}",
            "give the tasks a route out (a NAT gateway: the ALB key host has no VPC endpoint)",
        )
    _remember_date(url, response, dates)
    if response.status in REDIRECTS:
        # Keys are fetched without following redirects, and no key service redirects: a redirect
        # (most often to a sign-in page) means the URL is some other site, or an app behind an ALB.
        where = response.headers.get("location", "").split("?", 1)[0]  # the query may carry state
        return fail(
            name,
            f"{url} redirects (HTTP {response.status}{' to ' + where if where else ''}): "
            "keys are never fetched through a redirect",
            "point the URL at the key service itself (unset ALB_AUTH_KEY_URL for the region's own)"
            if name == "key-service"
            else "point ALB_AUTH_JWKS_URL / the issuer at the provider's JWKS itself",
        )
    if not needs_200:
        return ok(name, f"{url} answers (HTTP {response.status})")
    if response.status != 200:
        return fail(
            name, f"{url} answers HTTP {response.status}", "check the user pool id / issuer / JWKS URL"
        )
    keys = _json_keys(response)
    if not keys:
        return fail(
            name, f"{url} answers without a JWKS (no keys)", "point ALB_AUTH_JWKS_URL at the pool's jwks.json"
        )
    return ok(name, f"{url} answers with {len(keys)} key(s)")


def _json_object(response: FetchResponse) -> dict[str, Any]:
    try:
        body = response.json()
    except FetchError:
        return {}
    return body if isinstance(body, dict) else {}


def _json_keys(response: FetchResponse) -> list[Any]:
    keys = _json_object(response).get("keys")
    return keys if isinstance(keys, list) else []


def _remember_date(url: str, response: FetchResponse, dates: list[tuple[str, float]]) -> None:
    with contextlib.suppress(TypeError, ValueError):
        dates.append((url, parsedate_to_datetime(response.headers.get("date", "")).timestamp()))


def _clock(dates: list[tuple[str, float]], clock: Callable[[], float]) -> Check:
    if not dates:
        return warn("clock", "no server answered with a Date header: the clock was not compared")
    now = clock()
    url, skew = max(((url, now - date) for url, date in dates), key=lambda pair: abs(pair[1]))
    if abs(skew) > DEFAULT_LEEWAY_SECONDS:
        return fail(
            "clock",
            f"this clock is {skew:+.0f} s off {url}'s Date: ALB tokens live about 120 s, "
            "so they fail as expired",
            "synchronise the clock (chrony / NTP; Fargate tasks are synchronised by AWS)",
        )
    if abs(skew) > CLOCK_WARN_SECONDS:
        return warn(
            "clock",
            f"this clock is {skew:+.0f} s off {url}'s Date (within the {DEFAULT_LEEWAY_SECONDS:g} s leeway)",
        )
    return ok("clock", f"this clock agrees with the servers' Date headers (within {CLOCK_WARN_SECONDS:g} s)")


def _streamlit_trusted_user_headers() -> Any:
    """What Streamlit resolves here: ``.streamlit/config.toml``, ``~/.streamlit`` and the environment."""
    from streamlit import config

    config.get_config_options(force_reparse=True)
    return config.get_option("server.trustedUserHeaders")


def _trusted_user_headers(read: Callable[[], Any]) -> Check:
    try:
        mapping = read()
    except Exception as error:  # Streamlit's config errors are its own types; report, do not crash
        return fail(
            "trusted-user-headers", f"Streamlit's configuration does not load: {error}", "fix config.toml"
        )
    if isinstance(mapping, str):
        import json

        try:
            mapping = json.loads(mapping)
        except ValueError:
            return fail(
                "trusted-user-headers", "server.trustedUserHeaders is not JSON", "write it as a JSON object"
            )
    unsafe = sorted(
        str(header) for header in (mapping or {}) if str(header).lower().startswith("x-amzn-oidc-")
    )
    if unsafe:
        return fail(
            "trusted-user-headers",
            f"server.trustedUserHeaders copies {', '.join(unsafe)} into st.user unverified "
            "(x-amzn-oidc-identity and -accesstoken are unsigned; -data changes every request)",
            "remove them; read the user with get_alb_user(), which verifies x-amzn-oidc-data",
        )
    return ok("trusted-user-headers", "server.trustedUserHeaders maps no x-amzn-oidc-* header")


def _cookie_name(cookie_name: str, env: Mapping[str, str]) -> Check:
    if not COOKIE_NAME.fullmatch(cookie_name):
        return fail(
            "cookie-name", f"{cookie_name!r} is not a cookie name", "pass the listener's SessionCookieName"
        )
    lambda_name = env.get("SESSION_COOKIE_NAME", "").strip()
    if lambda_name and lambda_name != cookie_name:
        return fail(
            "cookie-name",
            f"SESSION_COOKIE_NAME here is {lambda_name}, the listener's is {cookie_name}: "
            "logout would expire the wrong cookie",
            "make SESSION_COOKIE_NAME and the listener's SessionCookieName the same",
        )
    return ok("cookie-name", f"session cookie {cookie_name}-0..3")
