"""Internal ``x-alb-auth-*`` identity headers, and the ``server.trustedUserHeaders`` mapping to ``st.user``.

Streamlit copies the headers that ``server.trustedUserHeaders`` names into ``st.user`` without checking
anything. That is safe only where something removes client-sent copies and adds verified values on every
request, which ``AlbAuthMiddleware`` does; so the mapping is set here, by the middleware, and a mapping
configured anywhere else (``config.toml``, ``STREAMLIT_SERVER_TRUSTED_USER_HEADERS``, a flag) stops the
app from starting, because the same configuration would also apply to a process without the middleware.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from streamlit_alb_auth.errors import ConfigurationError
from streamlit_alb_auth.identity import AlbUser

INTERNAL_HEADER_PREFIX = "x-alb-auth-"
USER_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "x-alb-auth-sub": "sub",
        "x-alb-auth-email": "email",
        "x-alb-auth-name": "name",
        "x-alb-auth-groups": "groups",
        "x-alb-auth-is-logged-in": "is_logged_in",
    }
)
OPTION = "server.trustedUserHeaders"
SET_BY = "streamlit-alb-auth's AlbAuthMiddleware"


def identity_headers(user: AlbUser) -> list[tuple[bytes, bytes]]:
    """The verified user as internal headers (ASGI form); a value absent from the claims is left out.

    ``st.user`` values are strings: ``groups`` is comma-separated, ``is_logged_in`` is ``"true"``.
    Header values are Latin-1 (as Starlette reads them), so other characters become ``?``.
    """
    values = {
        "sub": user.sub,
        "email": user.email,
        "name": user.name or user.username,
        "groups": ",".join(user.groups) or None,
        "is_logged_in": "true",
    }
    return [
        (header.encode("ascii"), value.encode("latin-1", "replace"))
        for header, key in USER_HEADERS.items()
        if (value := _text(values[key]))
    ]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


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
