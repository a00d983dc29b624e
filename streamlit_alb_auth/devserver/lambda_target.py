"""The logout path: run the shipped logout Lambda on an ALB-shaped event, answer with its response.

The Lambda is the file we ship (``templates/logout_lambda.py``), loaded as Lambda loads it; its
``handle(event, env)`` gets the environment the CloudFormation template would give the function, as
a mapping of its own (the process environment is neither read nor changed). As the templates' logout rule
does, the request is authenticated with ``OnUnauthenticatedRequest: allow``: a live session adds
the ``x-amzn-oidc-*`` headers (so the Lambda revokes the access token through the stand-in's
``GlobalSignOut``), no session forwards it as it is. The event has single- or multi-value headers
as ``DevConfig.lambda_headers`` says. One translation: the Lambda redirects to
``https://{COGNITO_DOMAIN}/logout``, and the stand-in *is* that domain on plain http, so a
``Location`` on exactly the configured (never-resolving ``.invalid``) domain is pointed at the
stand-in's URL; nothing else in the answer is changed.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from multidict import CIMultiDict

from streamlit_alb_auth.devserver.config import DevConfig

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "logout_lambda.py"
TARGET_GROUP_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/alb-auth-dev-logout/0000000000000000"
)
LambdaHandler = Callable[[dict[str, Any], Mapping[str, str]], dict[str, Any]]
"""The Lambda's ``handle(event, env)``."""


def load_handler(path: Path = TEMPLATE) -> LambdaHandler:
    spec = importlib.util.spec_from_file_location("alb_auth_dev_logout_lambda", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no logout Lambda at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handle


def _raw_pairs(query: str) -> dict[str, list[str]]:
    """Query parameters still percent-encoded: the ALB hands them to Lambda without decoding."""
    pairs: dict[str, list[str]] = {}
    for item in filter(None, query.split("&")):
        name, _, value = item.partition("=")
        pairs.setdefault(name, []).append(value)
    return pairs


def alb_event(
    request: web.Request, body: bytes, identity: Mapping[str, str] | None = None, *, multi: bool = True
) -> dict[str, Any]:
    """The event an ALB Lambda target receives for ``request``; ``identity`` is what authenticate adds."""
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        if not name.lower().startswith("x-amzn-oidc-"):
            headers.setdefault(name.lower(), []).append(value)
    for name, value in (identity or {}).items():
        headers[name.lower()] = [value]
    headers["x-forwarded-for"] = [request.remote or ""]
    headers["x-forwarded-proto"] = [request.scheme]
    headers["x-forwarded-port"] = [str(request.url.port or "")]
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    query = _raw_pairs(request.rel_url.raw_query_string)
    event = {
        "requestContext": {"elb": {"targetGroupArn": TARGET_GROUP_ARN}},
        "httpMethod": request.method,
        "path": request.path,
        "body": text,
        "isBase64Encoded": encoded,
    }
    if multi:
        return {**event, "multiValueQueryStringParameters": query, "multiValueHeaders": headers}
    # Without multi-value headers the ALB passes the last value of each (AWS documents this).
    last = {name: values[-1] for name, values in query.items()}
    return {**event, "queryStringParameters": last, "headers": {k: v[-1] for k, v in headers.items()}}


def rewrite_location(location: str, cognito_domain: str, local_url: str) -> str:
    parts = urlsplit(location)
    if parts.scheme != "https" or parts.netloc != cognito_domain:
        return location
    return local_url + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def app_route_location(location: str, config: DevConfig, opened: DevConfig) -> str:
    """``--logout-by app``: the app's route answers from the app's environment, which names the
    sign-out URL on ``config.public_url``; the browser may have opened the other loopback name."""
    here = rewrite_location(location, config.cognito_domain, opened.public_url)
    return here.replace(quote(config.sign_out_url, safe=""), quote(opened.sign_out_url, safe=""))


def http_response(answer: dict[str, Any], config: DevConfig) -> web.Response:
    """An ALB-style translation of the Lambda's answer; every value of a multi-value header is kept."""
    headers: CIMultiDict[str] = CIMultiDict()
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        for value in values:
            headers.add(name, value)
    for name, value in (answer.get("headers") or {}).items():
        headers.add(name, value)
    if "Location" in headers:
        headers["Location"] = rewrite_location(headers["Location"], config.cognito_domain, config.public_url)
    text = answer.get("body") or ""
    body = base64.b64decode(text) if answer.get("isBase64Encoded") else text.encode("utf-8")
    reason = str(answer.get("statusDescription", "")).partition(" ")[2] or None
    return web.Response(status=int(answer["statusCode"]), reason=reason, headers=headers, body=body)


class LogoutTarget:
    """The logout listener rule: authenticate (allow), then the Lambda target group's loaded handler."""

    def __init__(
        self,
        config: DevConfig,
        identity: Callable[[web.Request], Mapping[str, str] | None],
        handler: LambdaHandler | None = None,
    ) -> None:
        self.config = config
        self.identity = identity
        self.handler = handler or load_handler()

    async def handle(self, request: web.Request) -> web.Response:
        multi = self.config.lambda_headers == "multi"
        event = alb_event(request, await request.read(), self.identity(request), multi=multi)
        config = self.config.as_opened(request.host)
        # In a thread: its GlobalSignOut call comes back to this very event loop.
        answer = await asyncio.to_thread(self.handler, event, config.lambda_environment())
        return http_response(answer, config)
