"""``get_alb_user()``: the verified ALB identity for a Streamlit script, kept in ``st.session_state``.

Data flows one way: headers -> ``auth.Authenticator`` (verifiers, keys, IdP) -> ``AlbUser`` ->
``st.session_state[SESSION_STATE_KEY]``. A rerun with the same headers and the same settings reads the
stored user and verifies nothing; a change to either verifies again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

import streamlit as st

from streamlit_alb_auth.auth import (
    ACCESS_TOKEN_HEADER,
    DATA_HEADER,
    IDENTITY_HEADER,
    LOGGER,
    SHARED_KEY_STORE,
    authenticator_for,
    header_values,
)
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.errors import AlbAuthError, ConfigurationError, MissingHeaderError, log_safe
from streamlit_alb_auth.identity import AlbUser

SESSION_STATE_KEY = "streamlit_alb_auth.user"
# Set by `streamlit-alb-auth dev`: the developer sees why configuration failed on the page itself.
SHOW_DETAILS_VARIABLE = "ALB_AUTH_SHOW_DETAILS"
_SHARED_KEY_STORE = SHARED_KEY_STORE
_SETTING_DESCRIPTIONS = {
    "alb_arn": "the load balancer ARN",
    "user_pool_id": "the Cognito user pool id",
    "client_id": "the app client id",
    "oidc_issuer": "the identity provider's issuer",
    "userinfo": "the userinfo setting",
    "groups_provider": "the groups provider",
}
_logged_configuration_problems: set[str] = set()


def get_alb_user(
    required: bool = True,
    *,
    headers: Mapping[str, str] | None = None,
    alb_arn: str | list[str] | None = None,
    client_id: str | None = None,
    issuer: str | None = None,
    key_url: str | None = None,
    user_pool_id: str | None = None,
    jwks_url: str | None = None,
    oidc_issuer: str | None = None,
    audience: str | None = None,
    groups_claim: str | None = None,
    userinfo: bool | None = None,
    userinfo_url: str | None = None,
    groups_provider: Callable[[AlbUser], Iterable[str]] | None = None,
) -> AlbUser:
    """Return the user the ALB signed in, verified; keep it in ``st.session_state``.

    Reads ``x-amzn-oidc-data`` (verified: ES256 signature with the region's ALB key, ``signer`` pinned
    to your ALB's ARN, ``exp``, and ``client``/``iss`` when configured), ``x-amzn-oidc-identity``
    (must equal the verified ``sub``) and ``x-amzn-oidc-accesstoken`` (verified against the identity
    provider when ``user_pool_id`` or ``oidc_issuer`` is configured, for ``groups``). Settings not
    passed here come from the ``ALB_AUTH_*`` environment variables, then from ``st.secrets["alb_auth"]``.

    The user is stored at ``st.session_state["streamlit_alb_auth.user"]``; a rerun with the same
    headers and settings returns it without verifying again.

    Parameters
    ----------
    required : bool
        If True (default) and nobody verified is signed in, show an error and stop the script. If
        False, return a logged-out user (``is_logged_in`` False, ``problem`` says why).
    headers : Mapping[str, str], optional
        Request headers to read instead of ``st.context.headers`` (tests, unusual set-ups).
    alb_arn, client_id, issuer, key_url, user_pool_id, jwks_url, oidc_issuer, audience, groups_claim, \
userinfo, userinfo_url
        Settings; see ``streamlit_alb_auth.config``. Without an ALB ARN nothing is trusted.
    groups_provider : callable, optional
        ``(user) -> iterable of str``, called once per sign-in: its result is ``user.groups`` (at most
        1,000 strings). If it raises, the user has no groups and the reason is logged. Pass a plain
        function (module level or in the script): a partial, or a closure over something new each rerun
        (a connection object), cannot be told apart from a different provider, so it is called again on
        every rerun.

    Examples
    --------
    >>> import streamlit as st
    >>> from streamlit_alb_auth import get_alb_user
    >>>
    >>> user = get_alb_user()
    >>> st.write(f"Hello {user.name or user.email}")
    >>> if "admin" in user.groups:
    ...     st.write("Admin tools")
    """
    values = header_values(st.context.headers if headers is None else headers)
    arguments = {
        "alb_arn": alb_arn,
        "client_id": client_id,
        "issuer": issuer,
        "key_url": key_url,
        "user_pool_id": user_pool_id,
        "jwks_url": jwks_url,
        "oidc_issuer": oidc_issuer,
        "audience": audience,
        "groups_claim": groups_claim,
        "userinfo": userinfo,
        "userinfo_url": userinfo_url,
        "groups_provider": groups_provider,
    }
    stored = st.session_state.get(SESSION_STATE_KEY)
    try:
        settings = resolve_settings(arguments)
        authenticator = authenticator_for(settings)
    except ConfigurationError as exc:
        user = _refused(values, exc)
    else:
        if isinstance(stored, AlbUser) and _still_valid(stored, values, settings):
            user = stored
        else:
            try:
                user = authenticator.authenticate(*values)
            except AlbAuthError as exc:
                user = _refused(values, exc, verified_under=settings)
    if user is not stored:
        st.session_state[SESSION_STATE_KEY] = user
    if required and not user.is_logged_in:
        _stop_with(user.problem or "You are not signed in.")
    return user


def _still_valid(stored: AlbUser, values: tuple[str, str, str], settings: Any) -> bool:
    """The stored user stands only for the same headers verified under equal settings."""
    return stored._header_values == values and stored._verified_under == settings


def _refused(values: tuple[str, str, str], exc: AlbAuthError, *, verified_under: Any = None) -> AlbUser:
    if isinstance(exc, ConfigurationError):
        message = log_safe(exc)
        if message not in _logged_configuration_problems and len(_logged_configuration_problems) < 64:
            _logged_configuration_problems.add(message)
            LOGGER.error("streamlit-alb-auth is misconfigured: %s", message)
    else:
        LOGGER.warning("ALB identity rejected: %s: %s", type(exc).__name__, log_safe(exc))
    return AlbUser(header_values=values, problem=_explain(exc), verified_under=verified_under)


def _explain(exc: AlbAuthError) -> str:
    """What a visitor may read: no setting's value, no token, nothing from the request."""
    if isinstance(exc, ConfigurationError):
        setting = exc.setting
        what = _SETTING_DESCRIPTIONS.get(setting or "", "a setting")
        where = f" {what} ({setting}, ALB_AUTH_{setting.upper()})" if setting else " its settings"
        message = (
            f"Sign-in is not configured correctly on this server: check{where}. The server log says more."
        )
        if os.environ.get(SHOW_DETAILS_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on"):
            message += f" Details for the developer: {log_safe(exc)}"
        return message
    if isinstance(exc, MissingHeaderError):
        return str(exc)
    return f"Your sign-in could not be verified ({type(exc).__name__}). Reload the page to sign in again."


def _stop_with(message: str) -> NoReturn:
    st.error(message, icon=":material/lock:")
    st.stop()
    raise AssertionError("st.stop() returned")  # pragma: no cover - st.stop raises


__all__ = [
    "ACCESS_TOKEN_HEADER",
    "DATA_HEADER",
    "IDENTITY_HEADER",
    "SESSION_STATE_KEY",
    "AlbUser",
    "get_alb_user",
]
