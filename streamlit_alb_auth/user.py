"""``get_alb_user()`` and ``AlbUser``: the verified ALB identity, kept in ``st.session_state``.

Data flows one way: headers -> verifiers (keys) -> AlbUser -> ``st.session_state[SESSION_STATE_KEY]``.
A rerun with the same headers reads the stored user and verifies nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, NoReturn

import streamlit as st

from streamlit_alb_auth.cognito import CognitoAccessTokenVerifier
from streamlit_alb_auth.config import HOW_TO_CONFIGURE, AlbAuthSettings, resolve_settings
from streamlit_alb_auth.errors import (
    AlbAuthError,
    ConfigurationError,
    IdentityMismatchError,
    MissingHeaderError,
)
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.verify import AlbJwtVerifier

SESSION_STATE_KEY = "streamlit_alb_auth.user"
DATA_HEADER = "x-amzn-oidc-data"
IDENTITY_HEADER = "x-amzn-oidc-identity"
ACCESS_TOKEN_HEADER = "x-amzn-oidc-accesstoken"  # noqa: S105 - a header name

_LOGGER = logging.getLogger("streamlit_alb_auth")
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_SHARED_KEY_STORE = AlbKeyStore()


class AlbUser(Mapping[str, Any]):
    """The signed-in user as the ALB vouched for it: a read-only sibling of ``st.user``.

    Item and attribute access read the verified ``x-amzn-oidc-data`` claims (``user["email"]``,
    ``user.email``); ``"is_logged_in"`` is always present. ``groups`` come only from an access token
    that verified against the user pool's JWKS (configure ``user_pool_id``); otherwise they are empty,
    because the ALB does not sign the access token and anyone able to reach the app could forge it.
    """

    __slots__ = ("_access_token_claims", "_claims", "_groups", "_header_values", "_problem")

    def __init__(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        access_token_claims: Mapping[str, Any] | None = None,
        header_values: tuple[str, ...] = (),
        problem: str | None = None,
    ) -> None:
        access = dict(access_token_claims or {})
        groups = access.get("cognito:groups")
        object.__setattr__(self, "_claims", MappingProxyType(dict(claims or {})))
        object.__setattr__(self, "_access_token_claims", MappingProxyType(access))
        object.__setattr__(
            self,
            "_groups",
            tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
        )
        object.__setattr__(self, "_header_values", header_values)
        object.__setattr__(self, "_problem", problem)

    @property
    def is_logged_in(self) -> bool:
        return bool(self._claims.get("sub"))

    @property
    def sub(self) -> str | None:
        return self._claims.get("sub")

    @property
    def email(self) -> str | None:
        return self._claims.get("email")

    @property
    def username(self) -> str | None:
        for source, name in (
            (self._claims, "username"),
            (self._claims, "cognito:username"),
            (self._claims, "preferred_username"),
            (self._access_token_claims, "username"),
        ):
            value = source.get(name)
            if isinstance(value, str) and value:
                return value
        return None

    @property
    def groups(self) -> tuple[str, ...]:
        return self._groups

    @property
    def claims(self) -> Mapping[str, Any]:
        """The verified ``x-amzn-oidc-data`` payload."""
        return self._claims

    @property
    def access_token_claims(self) -> Mapping[str, Any]:
        """The verified access token's claims; empty when it was not (or could not be) verified."""
        return self._access_token_claims

    @property
    def problem(self) -> str | None:
        """Why nobody is logged in, when a check failed (safe to show; never contains a token)."""
        return self._problem

    def __getitem__(self, key: str) -> Any:
        if key == "is_logged_in":
            return self.is_logged_in
        return self._claims[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._claims[key]
        except KeyError:
            raise AttributeError(f'AlbUser has no attribute "{key}".') from None

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("AlbUser is read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("AlbUser is read-only")

    def __iter__(self) -> Iterator[str]:
        yield "is_logged_in"
        yield from (key for key in self._claims if key != "is_logged_in")

    def __len__(self) -> int:
        return 1 + sum(1 for key in self._claims if key != "is_logged_in")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _restore_user,
            (dict(self._claims), dict(self._access_token_claims), self._header_values, self._problem),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.items())

    def __repr__(self) -> str:
        if not self.is_logged_in:
            return "AlbUser(is_logged_in=False)"
        return f"AlbUser(sub={self.sub!r}, email={self.email!r}, groups={self.groups!r})"


def _restore_user(
    claims: dict[str, Any], access: dict[str, Any], header_values: tuple[str, ...], problem: str | None
) -> AlbUser:
    return AlbUser(claims, access_token_claims=access, header_values=header_values, problem=problem)


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
) -> AlbUser:
    """Return the user the ALB signed in, verified; keep it in ``st.session_state``.

    Reads ``x-amzn-oidc-data`` (verified: ES256 signature with the region's ALB key, ``signer`` pinned
    to your ALB's ARN, ``exp``, and ``client``/``iss`` when configured), ``x-amzn-oidc-identity``
    (must equal the verified ``sub``) and ``x-amzn-oidc-accesstoken`` (verified against the user pool's
    JWKS when ``user_pool_id`` is configured, for ``groups``). Settings not passed here come from the
    ``ALB_AUTH_*`` environment variables, then from ``st.secrets["alb_auth"]``.

    The user is stored at ``st.session_state["streamlit_alb_auth.user"]``; a rerun with the same
    headers returns it without verifying again.

    Parameters
    ----------
    required : bool
        If True (default) and nobody verified is signed in, show an error and stop the script. If
        False, return a logged-out user (``is_logged_in`` False, ``problem`` says why).
    headers : Mapping[str, str], optional
        Request headers to read instead of ``st.context.headers`` (tests, unusual set-ups).
    alb_arn, client_id, issuer, key_url, user_pool_id, jwks_url
        Settings; see ``streamlit_alb_auth.config``. Without an ALB ARN nothing is trusted.

    Examples
    --------
    >>> import streamlit as st
    >>> from streamlit_alb_auth import get_alb_user
    >>>
    >>> user = get_alb_user()
    >>> st.write(f"Hello {user.email}")
    >>> if "admin" in user.groups:
    ...     st.write("Admin tools")
    """
    source = st.context.headers if headers is None else _lowercase_keys(headers)
    header_values = (
        source.get(DATA_HEADER) or "",
        source.get(IDENTITY_HEADER) or "",
        source.get(ACCESS_TOKEN_HEADER) or "",
    )
    stored = st.session_state.get(SESSION_STATE_KEY)
    if isinstance(stored, AlbUser) and stored._header_values == header_values:
        user = stored
    else:
        user = _authenticate(
            header_values,
            {
                "alb_arn": alb_arn,
                "client_id": client_id,
                "issuer": issuer,
                "key_url": key_url,
                "user_pool_id": user_pool_id,
                "jwks_url": jwks_url,
            },
        )
        st.session_state[SESSION_STATE_KEY] = user
    if required and not user.is_logged_in:
        _stop_with(user.problem or "You are not signed in.")
    return user


def _lowercase_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {str(name).lower(): value for name, value in headers.items()}


def _authenticate(header_values: tuple[str, str, str], arguments: Mapping[str, Any]) -> AlbUser:
    data, identity, access_token = header_values
    try:
        settings = resolve_settings(arguments)
        if not settings.alb_arns:
            raise ConfigurationError(
                "No ALB ARN is configured, so no identity can be trusted. " + HOW_TO_CONFIGURE
            )
        if not data:
            raise MissingHeaderError(
                f"No {DATA_HEADER} header: this request did not come through an ALB that authenticates. "
                "For local development run `streamlit-alb-auth dev`."
            )
        access_verifier = _access_verifier(settings) if settings.user_pool_id else None
        claims = _data_verifier(settings).verify(data)
        if identity != claims.get("sub"):
            raise IdentityMismatchError(f"{IDENTITY_HEADER} does not match the verified sub")
    except AlbAuthError as exc:
        _LOGGER.warning("ALB identity rejected: %s: %s", type(exc).__name__, exc)
        return AlbUser(header_values=header_values, problem=_explain(exc))
    return AlbUser(
        claims,
        access_token_claims=_verified_access_claims(access_verifier, access_token, claims["sub"]),
        header_values=header_values,
    )


def _verified_access_claims(
    verifier: CognitoAccessTokenVerifier | None, access_token: str, sub: str
) -> Mapping[str, Any]:
    """Access-token claims if they verify; on failure the user keeps the verified identity, not the groups."""
    if verifier is None or not access_token:
        return _EMPTY
    try:
        return verifier.verify(access_token, expected_sub=sub)
    except AlbAuthError as exc:
        _LOGGER.warning("access token not trusted, groups withheld: %s: %s", type(exc).__name__, exc)
        return _EMPTY


@functools.lru_cache(maxsize=8)
def _data_verifier(settings: AlbAuthSettings) -> AlbJwtVerifier:
    return AlbJwtVerifier(
        alb_arn=settings.alb_arns,
        client_id=settings.client_id,
        issuer=settings.issuer,
        key_url=settings.key_url,
        key_store=_SHARED_KEY_STORE,
    )


@functools.lru_cache(maxsize=8)
def _access_verifier(settings: AlbAuthSettings) -> CognitoAccessTokenVerifier:
    return CognitoAccessTokenVerifier(
        user_pool_id=settings.user_pool_id or "", client_id=settings.client_id, jwks_url=settings.jwks_url
    )


def _explain(exc: AlbAuthError) -> str:
    if isinstance(exc, ConfigurationError | MissingHeaderError):
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
