"""``st.App`` at the door: the verifying ASGI middleware, its ``st.user`` header mapping, the logout route.

    # app.py, run with `streamlit run app.py`
    import streamlit as st
    from streamlit_alb_auth.asgi import alb_auth
    app = st.App("main.py", **alb_auth())

``middleware`` holds ``AlbAuthMiddleware`` and ``alb_auth``; ``user_headers`` the internal
``x-alb-auth-*`` headers that ``server.trustedUserHeaders`` maps into ``st.user``.
"""

from __future__ import annotations

from streamlit_alb_auth.asgi.middleware import (
    DEFAULT_EXEMPT_PATHS,
    SCOPE_KEY,
    AlbAuthMiddleware,
    alb_auth,
)
from streamlit_alb_auth.asgi.user_headers import OPTION, USER_HEADERS, st_user_groups

__all__ = [
    "DEFAULT_EXEMPT_PATHS",
    "OPTION",
    "SCOPE_KEY",
    "USER_HEADERS",
    "AlbAuthMiddleware",
    "alb_auth",
    "st_user_groups",
]
