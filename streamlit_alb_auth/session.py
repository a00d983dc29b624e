"""``get_alb_user()``: the verified ALB identity for a Streamlit script, kept in ``st.session_state``.

Data flows one way: headers -> ``authenticate`` (verifiers, keys, IdP) -> ``AlbUser`` ->
``st.session_state``. Three keys, side by side: ``SESSION_STATE_KEY`` holds the user (plain data),
``VERIFIED_FOR_KEY`` a SHA-256 over what it was verified for (the three header values, the settings,
and the groups provider's identity), and ``SETTINGS_KEY`` the settings the page passed (the session's
settings story). A rerun whose digest matches reads the stored user and verifies nothing; any change
verifies again. No raw token is kept in the session: only the digest.

The settings story: settings passed to ``get_alb_user(...)`` (and its ``groups_provider``) are kept for
the session, so every later call that passes none (``require_groups``, ``navigation``, a page script of
a multipage app) verifies under the same ones, and finds the user already verified. A call that passes
its own settings replaces them. ``headers=`` is never kept: it carries tokens.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any, NoReturn

import streamlit as st

from streamlit_alb_auth.authenticate import (
    ACCESS_TOKEN_HEADER,
    DATA_HEADER,
    IDENTITY_HEADER,
    LOGGER,
    GroupsProvider,
    authenticator_for,
    header_values,
)
from streamlit_alb_auth.bearer import door_verified
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.errors import AlbAuthError, ConfigurationError, MissingHeaderError, log_safe
from streamlit_alb_auth.fingerprint import provider_identity, verified_for
from streamlit_alb_auth.user import AlbUser, decode_groups

SESSION_STATE_KEY = "streamlit_alb_auth.user"
VERIFIED_FOR_KEY = "streamlit_alb_auth.verified_for"
SETTINGS_KEY = "streamlit_alb_auth.settings"
# Set by `streamlit-alb-auth dev`: the developer sees why configuration failed on the page itself.
SHOW_DETAILS_VARIABLE = "ALB_AUTH_SHOW_DETAILS"
_SETTING_DESCRIPTIONS = {
    "alb_arn": "the load balancer ARN",
    "user_pool_id": "the Cognito user pool id",
    "client_id": "the app client id",
    "oidc_issuer": "the identity provider's issuer",
    "userinfo": "the userinfo setting",
    "groups_provider": "the groups provider",
}
_logged_configuration_problems: set[str] = set()  # process-wide: listed in caches.py


def get_alb_user(
    *deprecated_positional: bool,
    required: bool = True,
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
    groups_provider: GroupsProvider | None = None,
) -> AlbUser:
    """Return the user the ALB signed in, verified; keep it in ``st.session_state``.

    Reads ``x-amzn-oidc-data`` (verified: ES256 signature with the region's ALB key, ``signer`` pinned
    to your ALB's ARN, ``exp``, and ``client``/``iss`` when configured), ``x-amzn-oidc-identity``
    (must equal the verified ``sub``) and ``x-amzn-oidc-accesstoken`` (verified against the identity
    provider when ``user_pool_id`` or ``oidc_issuer`` is configured, for ``groups``). Settings not
    passed here come from the ``ALB_AUTH_*`` environment variables, then from ``st.secrets["alb_auth"]``.
    Settings passed here hold for the rest of the session: a later call that passes none (this one
    again, ``require_groups``, ``navigation``) uses them; a later call that passes any replaces them.

    The user is stored at ``st.session_state["streamlit_alb_auth.user"]``; a rerun with the same
    headers, settings and groups provider returns it without verifying again.

    Parameters
    ----------
    required : bool, keyword-only
        If True (default) and nobody verified is signed in, show an error and stop the script. If
        False, return a logged-out user (``is_logged_in`` False, ``problem`` says why). (Passing it
        positionally still works in this release, with a ``DeprecationWarning``.)
    headers : Mapping[str, str], optional
        Request headers to read instead of ``st.context.headers`` (unusual set-ups; for tests see
        ``streamlit_alb_auth.testing.signed_in``). Used by this call only: never kept.
    alb_arn, client_id, issuer, key_url, user_pool_id, jwks_url, oidc_issuer, audience, groups_claim, \
userinfo, userinfo_url
        Settings; see ``streamlit_alb_auth.config``. Without an ALB ARN nothing is trusted.
    groups_provider : callable, optional
        ``(user) -> iterable of str``, called once per sign-in: its result is ``user.groups`` (at most
        1,000 strings). If it raises, the user has no groups and the reason is logged. Pass a plain
        function (module level or in the script): the same function redefined by a rerun counts as the
        same provider; anything else (a bound method, a callable object, a closure over something new
        each rerun) is called again on every rerun.

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
    required = _required_from(deprecated_positional, required)
    given = {
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
    arguments = session_settings({name: value for name, value in given.items() if value is not None})
    groups_provider = arguments.pop("groups_provider", None)
    stored = (st.session_state.get(SESSION_STATE_KEY), st.session_state.get(VERIFIED_FOR_KEY))
    try:
        values = header_values(st.context.headers if headers is None else headers)
    except AlbAuthError as exc:  # a repeated header
        user, digest = _refused(exc), None
    else:
        machine = None if any(values) else _machine_at_the_door()
        if machine is not None:
            user, digest = machine, None
        else:
            user, digest = _verified_user(values, arguments, groups_provider, stored)
    if user is not stored[0]:
        st.session_state[SESSION_STATE_KEY] = user
    if digest != stored[1]:
        st.session_state[VERIFIED_FOR_KEY] = digest
    if required and not user.is_logged_in:
        stop_with(user.problem or "You are not signed in.")
    return user


def session_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """The settings this call verifies under: ``given`` if it names any (kept for the session from now
    on), else the ones kept by an earlier call of this session (none: the environment and secrets)."""
    if not given:
        kept = st.session_state.get(SETTINGS_KEY)
        return dict(kept) if isinstance(kept, Mapping) else {}
    if st.session_state.get(SETTINGS_KEY) != given:
        st.session_state[SETTINGS_KEY] = dict(given)
    return dict(given)


def _verified_user(
    values: tuple[str, str, str],
    arguments: Mapping[str, Any],
    groups_provider: GroupsProvider | None,
    stored: tuple[Any, Any],
) -> tuple[AlbUser, str | None]:
    """The stored user if it was verified for exactly these headers, settings and provider; else a new
    verification (or the refusal saying why), with the digest to store beside it."""
    try:
        if groups_provider is not None and not callable(groups_provider):
            raise ConfigurationError(
                "groups_provider must be a callable (user) -> groups", setting="groups_provider"
            )
        settings = resolve_settings(arguments)
        authenticator = authenticator_for(settings)
    except ConfigurationError as exc:
        return _refused(exc), None
    digest = verified_for(values, settings, groups_provider)
    if isinstance(stored[0], AlbUser) and stored[1] == digest:
        return stored[0], digest
    try:
        return authenticator.authenticate(*values, groups_provider=groups_provider), digest
    except AlbAuthError as exc:
        return _refused(exc), digest


def _machine_at_the_door() -> AlbUser | None:
    """A session with no ALB header may be a machine client that ``AlbAuthMiddleware`` verified by its
    bearer token (an agent API session). Streamlit keeps the token from the session, so the machine is
    found by what the door put in ``st.user``, and only if the door did verify it, while its token lives.
    """
    info = st.user
    if info.get("is_machine") is not True:
        return None
    return door_verified(info.get("sub"), info.get("client_id"), decode_groups(info.get("groups")))


def _required_from(positional: tuple[bool, ...], required: bool) -> bool:
    if not positional:
        return required
    if len(positional) > 1:
        raise TypeError("get_alb_user takes keyword arguments only (required=..., headers=..., ...)")
    warnings.warn(
        "get_alb_user(required) as a positional argument is deprecated: write get_alb_user(required=...)",
        DeprecationWarning,
        stacklevel=3,
    )
    return bool(positional[0])


def _refused(exc: AlbAuthError) -> AlbUser:
    if isinstance(exc, ConfigurationError):
        message = log_safe(exc)
        if message not in _logged_configuration_problems and len(_logged_configuration_problems) < 64:
            _logged_configuration_problems.add(message)
            LOGGER.error("streamlit-alb-auth is misconfigured: %s", message)
    else:
        LOGGER.warning("ALB identity rejected: %s: %s", type(exc).__name__, log_safe(exc))
    return AlbUser(problem=_explain(exc))


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


def forget_logged_problems() -> None:
    """Log each configuration problem again (``caches.clear_all``)."""
    _logged_configuration_problems.clear()


def stop_with(message: str) -> NoReturn:
    """Show ``message`` as an error and stop the script (the package's one way to refuse a page)."""
    st.error(message, icon=":material/lock:")
    st.stop()
    raise AssertionError("st.stop() returned")  # pragma: no cover - st.stop raises


__all__ = [
    "ACCESS_TOKEN_HEADER",
    "DATA_HEADER",
    "IDENTITY_HEADER",
    "SESSION_STATE_KEY",
    "SETTINGS_KEY",
    "VERIFIED_FOR_KEY",
    "AlbUser",
    "get_alb_user",
    "provider_identity",
    "session_settings",
    "verified_for",
]
