"""Reading what a deployment answers: its ``Set-Cookie`` lines and its ``Strict-Transport-Security``."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

from streamlit_alb_auth.fetch import FetchResponse


def set_cookies(response: FetchResponse) -> dict[str, dict[str, str]]:
    """``Set-Cookie`` lines by cookie name: each one's attributes, lower-cased, ``value`` included."""
    cookies: dict[str, dict[str, str]] = {}
    for name, line in response.header_items:
        if name != "set-cookie":
            continue
        first, *attributes = (part.strip() for part in line.split(";"))
        cookie, _, value = first.partition("=")
        fields = {"value": value}
        for attribute in attributes:
            key, _, setting = attribute.partition("=")
            fields[key.strip().lower()] = setting.strip()
        cookies[cookie.strip()] = fields
    return cookies


def expires_now(fields: dict[str, str]) -> bool:
    """Whether a ``Set-Cookie``'s attributes expire it at once (``Max-Age`` <= 0 or a past ``Expires``)."""
    if fields.get("max-age", "").lstrip("-").isdigit():
        return int(fields["max-age"]) <= 0
    try:
        return parsedate_to_datetime(fields.get("expires", "")).timestamp() <= time.time()
    except (TypeError, ValueError):
        return False


def hsts_max_age(header: str) -> int:
    """``Strict-Transport-Security``'s ``max-age`` in seconds; 0 when it has none."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.strip('"').isdigit():
            return int(value.strip('"'))
    return 0
