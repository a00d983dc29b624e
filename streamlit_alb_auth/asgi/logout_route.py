"""Logout without a Lambda: an ``st.App`` route that runs the logout Lambda's own ``handle``.

``templates/logout_lambda.py`` is the one logout logic; this route hands it the request as a
multi-value ALB event (so one answer expires every session cookie shard) with the app's environment
(read, never written), and answers with what it returns: a request another site sent gets the
confirmation page, other methods than GET and POST a 405. ``GlobalSignOut`` runs on the package's
own bounded executor (``revocation.Revocations``), after the access token passed the checks there;
the answer waits for it at most ``REVOKE_WAIT`` seconds. It is configured exactly as the Lambda is,
by the same environment variables in the app's environment:
``COGNITO_DOMAIN`` (or ``COGNITO_USER_POOL_DOMAIN_PREFIX`` + ``AWS_REGION``), ``COGNITO_CLIENT_ID``
and ``APP_LOGOUT_URL`` for Cognito, or ``IDP_LOGOUT_URL`` for another OIDC provider.

Behind the ALB the logout rule forwards the path to the app's target group, authenticated with
``OnUnauthenticatedRequest: allow``: a live session brings the access token to revoke, none still
expires the cookies. So the middleware lets this one path through unverified.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from streamlit_alb_auth.asgi.revocation import Revocations
from streamlit_alb_auth.errors import UnsafeLogoutPathError
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, handle

if TYPE_CHECKING:
    from streamlit_alb_auth.config import AlbAuthSettings

DEFAULT_LOGOUT_PATH = LOGOUT_PATH
REVOKE_WAIT = 2.5  # the Lambda's GlobalSignOut timeout, and a little
# The logout path passes sign-in (the ALB rule says "allow", the middleware exempts it), so it must
# be a path of its own: never "/", never under what Streamlit serves (its core, assets, media,
# components, static files, st.login) or the ALB's own /oauth2 callback, and no "//" or dot segment
# that a server might normalise into one of those. The templates' LogoutPath AllowedPattern is this
# same expression (tests/templates/test_templates.py compares them), as CloudFormation matches it:
# whole value.
APP_SERVED_PREFIXES = (
    "_stcore",
    "static",
    "media",
    "component",
    "app/static",
    "auth",
    "oauth2",
    "oauth2callback",
)
LOGOUT_PATH_PATTERN = re.compile(
    r"(?!.*//)(?!(.*/)?\.\.?(/|$))/(?!(" + "|".join(APP_SERVED_PREFIXES) + r")(/|$))[A-Za-z0-9/_.-]+"
)
_FORWARDED = (
    "x-amzn-oidc-accesstoken",
    "x-amzn-oidc-identity",
    "x-amzn-oidc-data",
    "host",
    "origin",
    "sec-fetch-site",
    "x-forwarded-proto",
)


def logout_route(
    path: str = DEFAULT_LOGOUT_PATH,
    *,
    settings: AlbAuthSettings | None = None,
    env: Mapping[str, str] | None = None,
    revocations: Revocations | None = None,
) -> Any:
    """A Starlette route on ``path`` that logs the user out as the Lambda would.

    ``settings`` (``alb_auth`` passes the app's) give the access-token verifier that checks a token
    before it is revoked; ``env`` the Lambda's variables (default: the process environment, read at
    each request); ``revocations`` the executor (default: one of its own, two threads).

    Examples
    --------
    >>> import streamlit as st
    >>> app = st.App("main.py", routes=[logout_route()])  # doctest: +SKIP
    """
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from streamlit_alb_auth.logout import check_logout_path

    check_logout_path(path)
    if not LOGOUT_PATH_PATTERN.fullmatch(path):
        raise UnsafeLogoutPathError(
            "the logout route's path is a path of its own, no query or fragment, not / and not under "
            f"a path the app serves ({', '.join('/' + p for p in APP_SERVED_PREFIXES)}): {path!r}"
        )

    if revocations is None:
        revocations = Revocations(_access_tokens(settings))
    submit = revocations.submit

    async def log_out(request: Request) -> Response:
        started: list[Any] = []
        settings_now = os.environ if env is None else env
        answer = handle(alb_event(request), settings_now, revoke=lambda *call: started.append(submit(*call)))
        waiting = [asyncio.wrap_future(future) for future in started if future is not None]
        if waiting:  # asyncio.wait cancels nothing: a revocation goes on if this stops waiting
            await asyncio.wait(waiting, timeout=REVOKE_WAIT)
        response = Response(answer.get("body") or "", status_code=answer["statusCode"])
        for name, values in answer["multiValueHeaders"].items():
            for value in values:
                response.headers.append(name, value)
        return response

    # Every method reaches handle(), so the Lambda and the route refuse the same ones the same way
    # (405, Allow: GET, POST); Starlette's own 405 would list HEAD too.
    return Route(path, log_out, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])


def _access_tokens(settings: AlbAuthSettings | None) -> Any:
    if settings is None:
        return None
    from streamlit_alb_auth.authenticate import authenticator_for

    return authenticator_for(settings).idp_verifier


def alb_event(request: Any) -> dict[str, Any]:
    """The multi-value ALB event the Lambda would get for this request (the headers it reads)."""
    query: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        query.setdefault(name, []).append(value)
    headers = {name: request.headers.getlist(name) for name in _FORWARDED if name in request.headers}
    headers.setdefault("x-forwarded-proto", [request.url.scheme])
    return {
        "httpMethod": request.method,
        "path": request.url.path,
        "multiValueQueryStringParameters": query,
        "multiValueHeaders": headers,
        "body": "",
        "isBase64Encoded": False,
    }
