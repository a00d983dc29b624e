"""From settings and the ALB's three headers to a verified ``AlbUser``. No Streamlit import.

This is the entry point for anything that is not a Streamlit script (an ASGI middleware, a worker)::

    from streamlit_alb_auth.auth import authenticator_for, header_values
    from streamlit_alb_auth.config import resolve_settings

    authenticator = authenticator_for(resolve_settings({}, secrets={}))   # cached per settings
    user = authenticator.authenticate(*header_values(request.headers))    # or raises AlbAuthError
    user.sub, user.email, user.groups

Identity failures raise (the caller decides what the visitor sees); a failure to establish *groups*
does not: the user keeps the verified identity with no groups, and the reason is logged (escaped).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
from collections.abc import Mapping
from typing import Any

from streamlit_alb_auth.cognito import issuer_aliases
from streamlit_alb_auth.config import HOW_TO_CONFIGURE, AlbAuthSettings
from streamlit_alb_auth.errors import (
    AlbAuthError,
    ConfigurationError,
    IdentityMismatchError,
    MissingHeaderError,
    log_safe,
)
from streamlit_alb_auth.identity import AlbUser
from streamlit_alb_auth.idp import IdpFacts, IdpVerifier, as_groups, claim_at, groups_in
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.verify import AlbJwtVerifier

DATA_HEADER = "x-amzn-oidc-data"
IDENTITY_HEADER = "x-amzn-oidc-identity"
ACCESS_TOKEN_HEADER = "x-amzn-oidc-accesstoken"  # noqa: S105 - a header name

LOGGER = logging.getLogger("streamlit_alb_auth")
SHARED_KEY_STORE = AlbKeyStore()


def header_values(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """``(data, identity, access_token)`` from request headers (any case); missing ones are ``""``."""
    lower = {str(name).lower(): value for name, value in headers.items()}
    return (
        lower.get(DATA_HEADER) or "",
        lower.get(IDENTITY_HEADER) or "",
        lower.get(ACCESS_TOKEN_HEADER) or "",
    )


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

    def authenticate(self, data: str, identity: str, access_token: str = "") -> AlbUser:
        """The verified user for these header values, or the ``AlbAuthError`` saying why not."""
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
            "header_values": (data, identity, access_token),
            "verified_under": self.settings,
        }
        user = AlbUser(claims, groups=self._claimed_groups(facts), **verified)
        provider = self.settings.groups_provider
        if provider is None:
            return user
        try:
            groups = as_groups(provider(user))
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


def authenticator_for(settings: AlbAuthSettings) -> Authenticator:
    """The ``Authenticator`` for ``settings``, created once (verifiers, key and JWKS caches are kept).

    Equal settings may carry a fresh ``groups_provider`` (the same function, redefined by a rerun): the
    one passed now is the one called, never a cached earlier one.

    Examples
    --------
    >>> from streamlit_alb_auth.config import resolve_settings
    >>> authenticator = authenticator_for(resolve_settings({}, secrets={}))  # doctest: +SKIP
    >>> user = authenticator.authenticate(data, identity, access_token)  # doctest: +SKIP
    """
    if settings.groups_provider is None:
        return _authenticator(settings)
    # Verifiers and their caches depend on everything but the provider: one set, whatever it is.
    shared = _authenticator(dataclasses.replace(settings, groups_provider=None, groups_provider_key=None))
    current = copy.copy(shared)
    current.settings = settings
    return current


@functools.lru_cache(maxsize=16)
def _authenticator(settings: AlbAuthSettings) -> Authenticator:
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
    "authenticator_for",
    "header_values",
]
