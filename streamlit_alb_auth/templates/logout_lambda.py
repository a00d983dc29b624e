"""ALB logout target: expire the ALB session cookies, then sign out of Cognito.

Standard library only, inlined into the CloudFormation templates (keep under 4096 characters).
The redirect is built from configuration alone, so no request can steer it. Single-value
headers carry one Set-Cookie: then only shard 0 expires (the ALB cannot rebuild a session
without it) and a warning is logged. The templates turn multi-value headers on.
"""

import logging
import os
import re
from urllib.parse import urlencode

log = logging.getLogger(__name__)
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOST = re.compile(rf"(?=.{{4,253}}$){LABEL}(\.{LABEL})+")
ORIGIN = rf"(https://{LABEL}(\.{LABEL})*|http://(localhost|127\.0\.0\.1))(:\d+)?"
URL = re.compile(rf"{ORIGIN}([/?][!-~]*)?", re.IGNORECASE)
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
CLIENT = re.compile(r"[A-Za-z0-9]{1,128}")
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _domain() -> str:
    custom = _env("COGNITO_DOMAIN").lower()
    if custom:
        if not HOST.fullmatch(custom):
            raise ValueError("COGNITO_DOMAIN must be a bare host name like auth.example.com")
        return custom
    prefix, region = _env("COGNITO_USER_POOL_DOMAIN_PREFIX"), _env("AWS_REGION")
    if not re.fullmatch(LABEL, prefix):
        raise ValueError("set COGNITO_DOMAIN, or COGNITO_USER_POOL_DOMAIN_PREFIX (a-z 0-9 -)")
    if not REGION.fullmatch(region):
        raise ValueError(f"AWS_REGION {region!r} is not a region name")
    return f"{prefix}.auth.{region}.amazoncognito.com"


def _settings() -> tuple[str, str]:
    client_id, url = _env("COGNITO_CLIENT_ID"), _env("APP_LOGOUT_URL")
    cookie = _env("SESSION_COOKIE_NAME", "AWSELBAuthSessionCookie")
    if not CLIENT.fullmatch(client_id):
        raise ValueError("COGNITO_CLIENT_ID must be the app client id (letters, digits)")
    if not URL.fullmatch(url):
        raise ValueError("APP_LOGOUT_URL must be an https URL (http only on localhost)")
    if not TOKEN.fullmatch(cookie):
        raise ValueError("SESSION_COOKIE_NAME must be a cookie name (no space, =, ;)")
    query = urlencode({"client_id": client_id, "logout_uri": url})
    return f"https://{_domain()}/logout?{query}", cookie


def _expired(name: str) -> str:
    return f"{name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; HttpOnly"


def lambda_handler(event: dict, context: object) -> dict:
    """Answer any request on the logout path; of ``event`` only the header mode is read."""
    multi = "multiValueHeaders" in event
    try:
        location, cookie = _settings()
    except ValueError as error:
        log.error("logout is misconfigured: %s", error)
        headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
        body = "<!doctype html><title>Logout failed</title><h1>Logout is not configured</h1>"
        return _answer(500, "500 Internal Server Error", headers, [], multi, body)
    headers = {"Location": location, "Cache-Control": "no-store"}
    cookies = [_expired(f"{cookie}-{shard}") for shard in range(4)]
    if not multi:
        log.warning("single-value headers: only %s-0 expired; enable multi-value headers", cookie)
    return _answer(302, "302 Found", headers, cookies, multi, "")


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
