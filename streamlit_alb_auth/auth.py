"""Deprecated: ``streamlit_alb_auth.authenticate`` is the module (this name stays for one release).

``from streamlit_alb_auth.auth import authenticator_for, header_values`` was documented; it still works,
with a ``DeprecationWarning``. ``groups_provider`` is now an argument of ``authenticate``, not a setting.
"""

from __future__ import annotations

import warnings

from streamlit_alb_auth.authenticate import (
    ACCESS_TOKEN_HEADER,
    DATA_HEADER,
    IDENTITY_HEADER,
    Authenticator,
    authenticator_for,
    header_values,
)

warnings.warn(
    "streamlit_alb_auth.auth is deprecated: import from streamlit_alb_auth.authenticate",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "ACCESS_TOKEN_HEADER",
    "DATA_HEADER",
    "IDENTITY_HEADER",
    "Authenticator",
    "authenticator_for",
    "header_values",
]
