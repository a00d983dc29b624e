"""Settings for ``get_alb_user``: from arguments, then the environment, then ``st.secrets["alb_auth"]``.

=====================  ===========================  ==========================================
argument               environment variable         ``[alb_auth]`` secret
=====================  ===========================  ==========================================
``alb_arn``            ``ALB_AUTH_ALB_ARN``         ``alb_arn`` (string or list; env: commas)
``client_id``          ``ALB_AUTH_CLIENT_ID``       ``client_id``
``issuer``             ``ALB_AUTH_ISSUER``          ``issuer``
``key_url``            ``ALB_AUTH_KEY_URL``         ``key_url``
``user_pool_id``       ``ALB_AUTH_USER_POOL_ID``    ``user_pool_id``
``jwks_url``           ``ALB_AUTH_JWKS_URL``        ``jwks_url``
=====================  ===========================  ==========================================
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streamlit_alb_auth.errors import ConfigurationError

SECRETS_SECTION = "alb_auth"
ENV_PREFIX = "ALB_AUTH_"
SETTING_NAMES = ("alb_arn", "client_id", "issuer", "key_url", "user_pool_id", "jwks_url")

HOW_TO_CONFIGURE = (
    "Set the ARN of your load balancer so only its tokens are trusted: "
    "get_alb_user(alb_arn=...), the ALB_AUTH_ALB_ARN environment variable, or "
    '[alb_auth] alb_arn = "arn:aws:elasticloadbalancing:..." in .streamlit/secrets.toml. '
    "For local development run `streamlit-alb-auth dev`, which configures all of this."
)


@dataclass(frozen=True)
class AlbAuthSettings:
    """Resolved settings; frozen and hashable so verifiers can be cached per settings."""

    alb_arns: tuple[str, ...]
    client_id: str | None = None
    issuer: str | None = None
    key_url: str | None = None
    user_pool_id: str | None = None
    jwks_url: str | None = None


def resolve_settings(
    arguments: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> AlbAuthSettings:
    """Each setting from the first source that has it: ``arguments``, ``environ``, ``secrets``."""
    env = os.environ if environ is None else environ
    section = _secrets_section() if secrets is None else secrets
    values: dict[str, Any] = {}
    for name in SETTING_NAMES:
        value = arguments.get(name)
        if value is None:
            value = env.get(ENV_PREFIX + name.upper()) or None
            if name == "alb_arn" and value is not None:
                value = [arn.strip() for arn in value.split(",") if arn.strip()]
        if value is None:
            value = section.get(name)
        values[name] = value
    return AlbAuthSettings(
        alb_arns=_as_arn_tuple(values.pop("alb_arn")),
        **{name: _optional_str(name, value) for name, value in values.items()},
    )


def _as_arn_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    arns = [value] if isinstance(value, str) else list(value) if isinstance(value, Iterable) else None
    if arns is None or not all(isinstance(arn, str) for arn in arns):
        raise ConfigurationError("alb_arn must be a string or a list of strings")
    return tuple(arns)


def _optional_str(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string")
    return value


def _secrets_section() -> Mapping[str, Any]:
    """``st.secrets["alb_auth"]`` if a secrets file defines it; an app without secrets is normal."""
    import streamlit as st

    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        section = st.secrets.get(SECRETS_SECTION)
    except Exception:  # a malformed secrets file is Streamlit's to report; it is no source of ours
        return {}
    return section if isinstance(section, Mapping) else {}
