"""Verified AWS ALB (Cognito/OIDC) identity and a real logout for Streamlit apps.

    user = get_alb_user()        # verified, or the page stops with a clear message
    st.write(user.email, user.groups)
    logout_button()              # also signs out this browser's other tabs
    require_groups("admin")      # only members of "admin" get past this line

    # or gate whole pages: the menu and the URLs follow the user's groups
    navigation([Page("home.py"), Page("admin.py", groups=["admin"])]).run()

The Streamlit-facing names load lazily, so ``streamlit_alb_auth.verify`` (and the errors) can be
used without importing Streamlit. Outside Streamlit (FastAPI, Flask), ``authenticate_headers(headers,
**settings)`` verifies one request's headers under the same settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streamlit_alb_auth import errors as _errors
from streamlit_alb_auth.errors import *  # noqa: F403

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load on first use
    from streamlit_alb_auth.authenticate import authenticate_headers as authenticate_headers
    from streamlit_alb_auth.authz import Page as Page
    from streamlit_alb_auth.authz import navigation as navigation
    from streamlit_alb_auth.authz import require_groups as require_groups
    from streamlit_alb_auth.logout import logout_button as logout_button
    from streamlit_alb_auth.logout import session_guard as session_guard
    from streamlit_alb_auth.session import SESSION_STATE_KEY as SESSION_STATE_KEY
    from streamlit_alb_auth.session import get_alb_user as get_alb_user
    from streamlit_alb_auth.user import AlbUser as AlbUser
    from streamlit_alb_auth.verify import AlbJwtVerifier as AlbJwtVerifier

__version__ = "0.1.0"

# The public API, listed once: each lazily loaded name and the module that defines it.
_LAZY = {
    "get_alb_user": "streamlit_alb_auth.session",
    "SESSION_STATE_KEY": "streamlit_alb_auth.session",
    "AlbUser": "streamlit_alb_auth.user",
    "logout_button": "streamlit_alb_auth.logout",
    "session_guard": "streamlit_alb_auth.logout",
    "AlbJwtVerifier": "streamlit_alb_auth.verify",
    "authenticate_headers": "streamlit_alb_auth.authenticate",
    "require_groups": "streamlit_alb_auth.authz",
    "Page": "streamlit_alb_auth.authz",
    "navigation": "streamlit_alb_auth.authz",
}

__all__ = sorted([*_LAZY, *_errors.__all__])  # pyright: ignore[reportUnsupportedDunderAll]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None and name in _errors._DEPRECATED_ALIASES:
        return getattr(_errors, name)  # warns
    if module_name is None:
        raise AttributeError(f"module 'streamlit_alb_auth' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
