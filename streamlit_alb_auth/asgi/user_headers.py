"""Internal ``x-alb-auth-*`` identity headers, and the ``server.trustedUserHeaders`` mapping to ``st.user``.

Streamlit copies the headers that ``server.trustedUserHeaders`` names into ``st.user`` without checking
anything. That is safe only where something removes client-sent copies and adds verified values on every
request, which ``AlbAuthMiddleware`` does; so the mapping is set here, by the middleware, and a mapping
configured anywhere else (``config.toml``, ``STREAMLIT_SERVER_TRUSTED_USER_HEADERS``, a flag) stops the
app from starting, because the same configuration would also apply to a process without the middleware.

Values reach ``st.user`` intact. Streamlit 1.67 reads each mapped header (websocket handshake and agent
API alike, ``starlette_websocket.gather_user_info``) through Starlette's ``Headers``, which turns every raw
value into text with ``value.decode("latin-1")``: plain bytes could only carry Latin-1, so 山田太郎 would
read ``????`` (or mojibake). The middleware's values are ``UserValue`` objects: bytes whose content is an
ASCII percent-encoding of the value (what anything reading raw bytes sees, reversible with
``urllib.parse.unquote``), and whose ``decode`` gives the verified value itself, so ``st.user.name`` is
山田太郎 and ``st.user.is_logged_in`` is ``True``, a bool, as in Streamlit's own ``st.user``. The headers
never leave the process: the middleware adds them to the ASGI scope it hands to Streamlit.

``st.user.groups`` is one string, comma-separated, with each group's ``%`` and ``,`` percent-encoded
(``staff,admin`` and ``ops`` read ``staff%2Cadmin,ops``), so code that splits on commas never mistakes a
part of a group name for a group; ``st_user_groups()`` gives the groups back exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from streamlit_alb_auth.errors import ConfigurationError
from streamlit_alb_auth.user import AlbUser, decode_groups, encode_groups

INTERNAL_HEADER_PREFIX = "x-alb-auth-"
USER_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "x-alb-auth-sub": "sub",
        "x-alb-auth-email": "email",
        "x-alb-auth-name": "name",
        "x-alb-auth-groups": "groups",
        "x-alb-auth-is-logged-in": "is_logged_in",
        "x-alb-auth-client-id": "client_id",
        "x-alb-auth-is-machine": "is_machine",
    }
)
OPTION = "server.trustedUserHeaders"
SET_BY = "streamlit-alb-auth's AlbAuthMiddleware"


# Printable ASCII but ``%`` passes the raw form unchanged; everything else is percent-encoded UTF-8.
_RAW_SAFE = "".join(chr(code) for code in range(0x20, 0x7F) if chr(code) != "%")


class UserValue(bytes):
    """One internal header's value: raw, an ASCII percent-encoding of ``value``; decoded, ``value``.

    Starlette's ``Headers`` (and so ``st.user``, ``st.context.headers``) reads a raw value with
    ``.decode("latin-1")``; whatever encoding is asked for, this gives back the verified value itself.
    """

    value: str | bool

    def __new__(cls, value: str | bool) -> UserValue:
        text = "true" if value is True else str(value)
        raw = super().__new__(cls, quote(text, safe=_RAW_SAFE).encode("ascii"))
        raw.value = value
        return raw

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> Any:  # type: ignore[override]
        return self.value

    def __reduce__(self) -> tuple[type[UserValue], tuple[str | bool]]:
        return (type(self), (self.value,))


def st_user_groups(value: object = None) -> tuple[str, ...]:
    """The groups in ``st.user.groups`` (or the ``value`` given), exactly as verified.

    Examples
    --------
    >>> from streamlit_alb_auth.asgi import st_user_groups
    >>> st_user_groups("staff%2Cadmin,ops")
    ('staff,admin', 'ops')
    >>> if "admin" in st_user_groups():  # inside a page of an st.App built with alb_auth()
    ...     ...  # doctest: +SKIP
    """
    if value is None:
        import streamlit as st

        value = st.user.get("groups")
    return decode_groups(value)


def identity_headers(user: AlbUser) -> list[tuple[bytes, bytes]]:
    """The verified user as internal headers (ASGI form); a value absent from the claims is left out.

    In ``st.user``: ``sub``, ``email``, ``name`` exactly as verified, ``groups`` as ``encode_groups``
    writes them, ``is_logged_in`` the bool ``True``; for a machine client (bearer token) also
    ``client_id`` and ``is_machine`` the bool ``True`` (both absent, so ``None``, for a person). Only stable
    values (never ``exp``, ``jti`` or the token): since Streamlit 1.62 a reconnecting tab resumes its
    session only if its ``st.user`` is exactly what it was, and an agent API session the same.
    """
    values: dict[str, str | bool | None] = {
        "sub": user.sub,
        "email": user.email,
        "name": user.name or user.username,
        "groups": encode_groups(user.groups) or None,
        "is_logged_in": True,
        "client_id": user.client_id,
        "is_machine": user.is_machine or None,
    }
    return [
        (header.encode("ascii"), UserValue(value))
        for header, key in USER_HEADERS.items()
        if (value := values[key]) is True or (isinstance(value, str) and value)
    ]


def refuse_outside_mapping() -> None:
    """Raise if ``server.trustedUserHeaders`` was configured by anything but the middleware."""
    from streamlit import config

    if config.get_option(OPTION) and config.get_where_defined(OPTION) != SET_BY:
        raise ConfigurationError(
            f"{OPTION} is set (in {config.get_where_defined(OPTION)}). Remove it: streamlit-alb-auth sets "
            "it together with the middleware that makes those headers trustworthy, and a process that "
            "has the mapping without the middleware would copy headers any client can send into st.user."
        )


def install_user_mapping() -> None:
    """Map exactly the internal headers into ``st.user``; refuse a mapping configured elsewhere."""
    from streamlit import config

    refuse_outside_mapping()
    config.set_option(OPTION, dict(USER_HEADERS), where_defined=SET_BY)


def mapping_installed() -> bool:
    from streamlit import config

    return config.get_where_defined(OPTION) == SET_BY
