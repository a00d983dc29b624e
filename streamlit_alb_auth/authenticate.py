"""Headers to a verified ``AlbUser``, under one set of settings. No Streamlit import.

The one path from the ALB's three headers to a user, for the page script (``session.get_alb_user``),
the door of ``st.App`` (``asgi``) and any other Python app behind the same ALB (``authenticate_headers``,
for a FastAPI or Flask service)::

    from streamlit_alb_auth import AlbAuthError, authenticate_headers

    user = authenticate_headers(request.headers, user_pool_id="eu-west-1_AbCdEfGhI")  # or raises
    user.sub, user.email, user.groups

``header_values`` is the one header reader: a header the ALB sends once that arrives more than once is
refused (``MalformedTokenError``), whichever door it came in by. ``groups_provider`` is an argument of
``authenticate``, not a setting: code is passed where it is called.

Identity failures raise (the caller decides what the visitor sees); a failure to establish *groups*
does not: the user keeps the verified identity with no groups, and the reason is logged (escaped).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from streamlit_alb_auth.access_token import IdpFacts, IdpVerifier
from streamlit_alb_auth.cognito import issuer_aliases
from streamlit_alb_auth.config import HOW_TO_CONFIGURE, AlbAuthSettings, resolve_settings
from streamlit_alb_auth.errors import (
    AlbAuthError,
    ConfigurationError,
    IdentityMismatchError,
    MalformedTokenError,
    MissingHeaderError,
    log_safe,
)
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.user import AlbUser, as_groups, claim_at, groups_in
from streamlit_alb_auth.verify import AlbJwtVerifier

DATA_HEADER = "x-amzn-oidc-data"
IDENTITY_HEADER = "x-amzn-oidc-identity"
ACCESS_TOKEN_HEADER = "x-amzn-oidc-accesstoken"  # noqa: S105 - a header name

HeaderValues = tuple[str, str, str]
GroupsProvider = Callable[[AlbUser], Iterable[str]]
_WANTED = (DATA_HEADER, IDENTITY_HEADER, ACCESS_TOKEN_HEADER)
_WANTED_RAW = {name.encode(): name for name in _WANTED}

LOGGER = logging.getLogger("streamlit_alb_auth")
SHARED_KEY_STORE = AlbKeyStore()  # process-wide: listed in caches.py


def header_values(headers: Mapping[str, str] | Iterable[tuple[bytes, bytes]]) -> HeaderValues:
    """``(data, identity, access_token)``; a missing header is ``""``, a repeated one is refused.

    ``headers`` is a mapping in any case (``st.context.headers``, whose ``get_all`` shows repeats; a
    dict; Starlette's ``request.headers``) or ``(name, value)`` pairs, bytes (ASGI's raw headers) or
    text (Werkzeug's ``request.headers``, a WSGI header list). A header the ALB sends once that
    arrives twice was added by someone else: ``MalformedTokenError``, never a guess at which copy to trust.
    """
    found: dict[str, str] = {}
    for name, value in _wanted_pairs(headers):
        if name in found:
            raise MalformedTokenError(f"{name} appears more than once")
        found[name] = value
    return found.get(DATA_HEADER, ""), found.get(IDENTITY_HEADER, ""), found.get(ACCESS_TOKEN_HEADER, "")


def _wanted_pairs(headers: Mapping[str, str] | Iterable[tuple[bytes, bytes]]) -> Iterator[tuple[str, str]]:
    if not isinstance(headers, Mapping):
        for raw_name, raw_value in headers:
            if isinstance(raw_name, bytes):
                name = _WANTED_RAW.get(raw_name.lower())
                value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else str(raw_value)
            else:
                name, value = str(raw_name).lower(), str(raw_value)
            if name in _WANTED and value:
                yield name, value
        return
    get_all = getattr(headers, "get_all", None)
    for key in headers:
        name = str(key).lower()
        if name in _WANTED:
            for value in get_all(key) if callable(get_all) else [headers[key]]:
                if value:
                    yield name, value


def authenticate_headers(
    headers: Mapping[str, str] | Iterable[tuple[Any, Any]],
    *,
    groups_provider: GroupsProvider | None = None,
    **settings: Any,
) -> AlbUser:
    """The verified user for one request's headers, outside Streamlit (FastAPI, Flask, a worker).

    The same verification as ``get_alb_user()``, under the same settings by the same names, read in
    the same order: arguments, then the ``ALB_AUTH_*`` environment, then ``[alb_auth]`` in
    ``.streamlit/secrets.toml``. Verifiers, keys and settings are cached per process, so a request
    costs one ES256 check per new token. Nothing is kept per user: call it on every request.

    Parameters
    ----------
    headers : mapping or iterable of (name, value) pairs
        The request's headers: Starlette/FastAPI's or Werkzeug/Flask's ``request.headers``, a dict, or
        ASGI's raw byte pairs. A header the ALB sends once that arrives twice is refused.
    groups_provider : callable, optional
        ``(user) -> iterable of str``, as for ``get_alb_user``; called on every call.
    **settings
        ``alb_arn``, ``client_id``, ``user_pool_id``, ... as for ``get_alb_user``.

    Returns
    -------
    AlbUser
        The verified user (``is_logged_in`` True).

    Raises
    ------
    AlbAuthError
        Why not: ``MissingHeaderError`` (not through the ALB), ``ConfigurationError`` (the settings),
        ``TokenExpiredError``, ``InvalidSignatureError``, ... Answer them all with 401.

    Examples
    --------
    >>> from fastapi import Depends, FastAPI, HTTPException, Request
    >>> from streamlit_alb_auth import AlbAuthError, AlbUser, authenticate_headers
    >>>
    >>> def alb_user(request: Request) -> AlbUser:
    ...     try:
    ...         return authenticate_headers(request.headers)
    ...     except AlbAuthError:
    ...         raise HTTPException(status_code=401) from None
    >>>
    >>> app = FastAPI()
    >>> @app.get("/me")
    ... def me(user: AlbUser = Depends(alb_user)) -> dict:
    ...     return {"email": user.email, "groups": list(user.groups)}
    """
    authenticator = authenticator_for(resolve_settings(settings))
    return authenticator.authenticate(*header_values(headers), groups_provider=groups_provider)


class Authenticator:
    """Verifies the ALB's headers under one set of settings. Create with ``authenticator_for``.

    Raises ``ConfigurationError`` at creation when the settings cannot work together (no ALB ARN;
    ``user_pool_id`` and ``oidc_issuer`` both set; access tokens checked without ``client_id`` or
    ``audience``, which would accept a token the IdP issued to any other app; ``userinfo`` without an
    issuer).
    """

    def __init__(self, settings: AlbAuthSettings, *, key_store: AlbKeyStore | None = None) -> None:
        if not settings.alb_arns:
            raise ConfigurationError(
                "No ALB ARN is configured, so no identity can be trusted. " + HOW_TO_CONFIGURE,
                setting="alb_arn",
            )
        self.settings = settings
        self.data_verifier = AlbJwtVerifier(
            alb_arn=settings.alb_arns,
            client_id=settings.client_id,
            # A Cognito pool signs with either issuer format (cognito.py): accept the pool's other one too.
            issuer=issuer_aliases(settings.issuer) if settings.issuer else None,
            key_url=settings.key_url,
            key_store=SHARED_KEY_STORE if key_store is None else key_store,
        )
        self.idp_verifier = _idp_verifier(settings)

    def authenticate(
        self,
        data: str,
        identity: str,
        access_token: str = "",
        *,
        groups_provider: GroupsProvider | None = None,
    ) -> AlbUser:
        """The verified user for these header values, or the ``AlbAuthError`` saying why not.

        ``groups_provider(user)``, when given, is called once the identity is verified: its result is
        ``user.groups`` (``user.as_groups`` says what it may return); if it raises, the user has no groups
        and the reason is logged.
        """
        if not data:
            raise MissingHeaderError(
                f"No {DATA_HEADER} header: this request did not come through an ALB that authenticates. "
                "For local development run `streamlit-alb-auth dev`."
            )
        header, claims = self.data_verifier.verify_with_header(data)
        if identity != claims.get("sub"):
            raise IdentityMismatchError(f"{IDENTITY_HEADER} does not match the verified sub")
        facts = self._idp_facts(access_token, claims["sub"])
        verified: dict[str, Any] = {
            "header": header,
            "access_token_claims": facts.access_token_claims,
            "userinfo": facts.userinfo,
        }
        user = AlbUser(claims, groups=self._claimed_groups(facts), **verified)
        if groups_provider is None:
            return user
        try:
            groups = as_groups(groups_provider(user))
        except Exception as exc:  # the app's own code: whatever it raises, the groups are withheld
            LOGGER.warning(
                "groups_provider failed, groups withheld: %s: %s", type(exc).__name__, log_safe(exc)
            )
            groups = ()
        return AlbUser(claims, groups=groups, **verified)

    def _idp_facts(self, access_token: str, sub: str) -> IdpFacts:
        if self.idp_verifier is None:
            return IdpFacts()
        if not access_token:
            LOGGER.warning("no %s header, groups withheld", ACCESS_TOKEN_HEADER)
            return IdpFacts()
        try:
            return self.idp_verifier.check(access_token, expected_sub=sub)
        except AlbAuthError as exc:
            LOGGER.warning(
                "access token not trusted, groups withheld: %s: %s", type(exc).__name__, log_safe(exc)
            )
            return IdpFacts()

    def _claimed_groups(self, facts: IdpFacts) -> tuple[str, ...]:
        claim = self.settings.groups_claim
        for source in (facts.userinfo, facts.access_token_claims):
            found = groups_in(source, claim)
            if found is None:
                continue
            if not found and not isinstance(claim_at(source, claim), list):
                LOGGER.warning(
                    "groups claim %s is %s, not a string or a list of strings: no groups",
                    log_safe(claim),
                    type(claim_at(source, claim)).__name__,
                )
            return found
        return ()


@functools.lru_cache(maxsize=16)  # process-wide: listed in caches.py
def authenticator_for(settings: AlbAuthSettings) -> Authenticator:
    """The ``Authenticator`` for ``settings``, created once (verifiers, key and JWKS caches are kept).

    Examples
    --------
    >>> from streamlit_alb_auth.config import resolve_settings
    >>> authenticator = authenticator_for(resolve_settings({}, secrets={}))  # doctest: +SKIP
    >>> user = authenticator.authenticate(data, identity, access_token)  # doctest: +SKIP
    """
    return Authenticator(settings)


def _idp_verifier(settings: AlbAuthSettings) -> IdpVerifier | None:
    if settings.user_pool_id and settings.oidc_issuer:
        raise ConfigurationError(
            "set either user_pool_id (Cognito) or oidc_issuer (any other provider), not both",
            setting="oidc_issuer",
        )
    options: dict[str, Any] = {
        "jwks_url": settings.jwks_url,
        "userinfo": settings.userinfo,
        "userinfo_url": settings.userinfo_url,
    }
    if settings.user_pool_id:
        return IdpVerifier.cognito_pool(
            settings.user_pool_id, client_id=settings.client_id, audience=settings.audience, **options
        )
    if settings.oidc_issuer:
        return IdpVerifier(settings.oidc_issuer, audience=settings.audience or settings.client_id, **options)
    if settings.userinfo or settings.userinfo_url:
        raise ConfigurationError(
            "userinfo and userinfo_url need oidc_issuer or user_pool_id", setting="userinfo"
        )
    return None


__all__ = [
    "ACCESS_TOKEN_HEADER",
    "DATA_HEADER",
    "IDENTITY_HEADER",
    "Authenticator",
    "GroupsProvider",
    "authenticate_headers",
    "authenticator_for",
    "header_values",
]
