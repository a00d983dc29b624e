"""Verified facts from the identity provider: the access token the ALB forwards, and userinfo.

The ALB signs only ``x-amzn-oidc-data``; ``x-amzn-oidc-accesstoken`` is passed through as the IdP issued
it, so anyone who can reach the app could forge it. Its claims (and groups) are trusted only when:
  * its signature verifies with the issuer's JWKS (asymmetric algorithms only), its ``iss`` is the
    configured issuer, it has not expired, it was issued to this app (``aud`` contains the expected
    audience, or ``client_id``/``azp``/``cid``/``appid`` equals it), and its ``sub`` is the verified ALB
    ``sub``; or
  * with ``userinfo`` on (or when the token is not a JWT this app can verify, as with Entra ID's Graph
    tokens), the issuer's userinfo endpoint accepts it and answers for the same ``sub`` (asked, and
    its answers kept and budgeted, by ``userinfo.UserinfoClient``). A token that
    is a JWT must be for this app here too (its claims read unverified, which is enough: the provider
    vouches for the whole token when its userinfo endpoint accepts it, and a refused one costs no
    call), unless ``audience`` is ``ANY_AUDIENCE`` (``"*"``), spelled out, for a provider whose access
    tokens are for another API and carry no claim naming this app.
Cognito is a preset of the same thing (``IdpVerifier.cognito_pool``): the pool's two issuers (ORIGINAL
and UPDATED, Cognito API reference ``IssuerConfigurationType``; ``cognito.py``), each with its own
``/.well-known/jwks.json``, ``token_use`` = ``access`` and the ``client_id`` claim.
Pure Python (PyJWT); no Streamlit import.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from streamlit_alb_auth.cognito import (
    user_pool_issuers,
)
from streamlit_alb_auth.errors import AccessTokenError, ConfigurationError
from streamlit_alb_auth.fetch import Fetcher
from streamlit_alb_auth.oidc_metadata import ASYMMETRIC_ALGORITHMS, OidcMetadata
from streamlit_alb_auth.userinfo import USERINFO_CHECKS_PER_USER, UserinfoClient

MAX_ACCESS_TOKEN_LENGTH = 16 * 1024
ANY_AUDIENCE = "*"  # the spelled-out opt-out of the audience check; userinfo mode only
CLIENT_CLAIMS = ("client_id", "azp", "cid", "appid")  # Cognito, OIDC, Okta, Entra ID (v1 and Graph)
_TOKEN_CHARACTERS = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class IdpFacts:
    """What the IdP vouched for: the verified access token's claims and/or the userinfo answer."""

    access_token_claims: Mapping[str, Any] = field(default_factory=dict)
    userinfo: Mapping[str, Any] = field(default_factory=dict)


class IdpVerifier:
    """Checks the forwarded access token (and/or asks userinfo) for one issuer and one app client.

    Parameters
    ----------
    issuer : str or sequence of str
        The IdP's issuer URL, as its tokens carry it in ``iss``; several for one IdP that signs under
        more than one (a Cognito pool's two formats). The first is the one asked for discovery and
        userinfo; each token is checked against the keys of the issuer it names, any other is refused.
    audience : str
        Who the access token must be for: in its ``aud``, or its ``client_id``/``azp``/``cid``/``appid``;
        checked in userinfo mode too whenever the token is a JWT. Required: without it a token the same
        IdP issued to any other app would be accepted. ``ANY_AUDIENCE`` (``"*"``) skips the check, and
        only with ``userinfo`` on.
    jwks_url : str or mapping of issuer to str, optional
        Instead of the ``jwks_uri`` of the issuer's discovery document (one URL for every issuer, or
        one per issuer).
    userinfo_url : str, optional
        Instead of the URL in the issuer's discovery document.
    userinfo : bool
        Ask the userinfo endpoint (once per token; answers are cached for ``userinfo_ttl`` seconds; at
        most ``USERINFO_CHECKS_PER_USER`` new tokens a minute for one ``sub``, then groups are withheld).
    cognito : bool
        Also require ``token_use`` = ``access`` (Cognito's access tokens; its ID tokens say ``id``).
    fetcher : Fetcher, optional
        What fetches every issuer's discovery document and JWKS (one budget for all); by default each
        issuer's ``OidcMetadata`` has its own.
    userinfo_fetcher : Fetcher, optional
        What asks the userinfo endpoint; by default one of its own (64 KiB, 600 fetches a minute).

    Examples
    --------
    >>> verifier = IdpVerifier("https://idp.example.com/realms/main", audience="my-app")
    >>> facts = verifier.check(access_token, expected_sub=alb_claims["sub"])  # doctest: +SKIP
    """

    def __init__(
        self,
        issuer: str | Sequence[str],
        *,
        audience: str | None,
        jwks_url: str | Mapping[str, str] | None = None,
        userinfo: bool = False,
        userinfo_url: str | None = None,
        cognito: bool = False,
        leeway: float = 30.0,
        timeout: float = 5.0,
        userinfo_ttl: float = 300.0,
        fetcher: Fetcher | None = None,
        userinfo_fetcher: Fetcher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not audience:
            raise ConfigurationError(
                "checking access tokens needs client_id (or audience): without it a token the identity "
                "provider issued to any other app would be accepted",
                setting="client_id",
            )
        if audience == ANY_AUDIENCE and not userinfo:
            raise ConfigurationError(
                f"audience {ANY_AUDIENCE!r} (any audience) needs userinfo: the claims of an access token "
                "issued to another app are never trusted; only the userinfo endpoint may vouch for it",
                setting="audience",
            )
        self.issuers = (issuer,) if isinstance(issuer, str) else tuple(issuer)
        if not self.issuers:
            raise ConfigurationError("an identity provider needs its issuer", setting="oidc_issuer")
        self.issuer = self.issuers[0]
        self.audience = audience
        self.use_userinfo = userinfo
        self.cognito = cognito
        self.leeway = leeway
        self.userinfo_ttl = userinfo_ttl
        self._clock = clock
        self._metadata = {
            name: OidcMetadata(
                name,
                jwks_url=jwks_url.get(name) if isinstance(jwks_url, Mapping) else jwks_url,
                userinfo_url=userinfo_url,
                timeout=timeout,
                fetcher=fetcher,
            )
            for name in self.issuers
        }
        self.metadata = self._metadata[self.issuer]
        self.userinfo_client = UserinfoClient(
            timeout=timeout, ttl=userinfo_ttl, fetcher=userinfo_fetcher, clock=clock
        )

    @classmethod
    def cognito_pool(cls, user_pool_id: str, *, client_id: str | None, **options: Any) -> IdpVerifier:
        """The Cognito preset: the pool's two issuers, each with its own JWKS (unless ``jwks_url``
        names one for both); ``token_use`` must be ``access``."""
        issuers = user_pool_issuers(user_pool_id)
        options["jwks_url"] = options.get("jwks_url") or {
            issuer: f"{issuer}/.well-known/jwks.json" for issuer in issuers
        }
        return cls(issuers, audience=options.pop("audience", None) or client_id, cognito=True, **options)

    def metadata_for(self, issuer: str) -> OidcMetadata | None:
        """The metadata (discovery, JWKS) of one of this verifier's issuers; ``None`` for any other."""
        return self._metadata.get(issuer)

    def check(self, access_token: str, *, expected_sub: str) -> IdpFacts:
        """What the IdP vouches for about ``expected_sub``, or ``AccessTokenError`` saying why nothing."""
        if not access_token or len(access_token) > MAX_ACCESS_TOKEN_LENGTH:
            raise AccessTokenError("access token is missing or over the size cap")
        if not _TOKEN_CHARACTERS.fullmatch(access_token):
            raise AccessTokenError("access token has characters no token has")
        if self.use_userinfo or not _is_verifiable_jwt(access_token):
            self._refuse_unfit_jwt(access_token)
            answer = self.userinfo_client.ask(
                self.metadata.userinfo_url,
                access_token,
                expected_sub=expected_sub,
                expires=unverified_expiry(access_token),
            )
            return IdpFacts(userinfo=answer)
        return IdpFacts(access_token_claims=self._verified_claims(access_token, expected_sub))

    def _verified_claims(self, token: str, expected_sub: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ASYMMETRIC_ALGORITHMS:
                raise AccessTokenError("access token is not signed with an asymmetric algorithm")
            # Which issuer's keys to use: the token names it; only ours have keys here, so a name
            # is a lookup, never a fetch from somewhere the token chose.
            named = jwt.decode(token, options={"verify_signature": False}).get("iss")
            metadata = self._metadata.get(named) if isinstance(named, str) else self.metadata
            if metadata is None:  # (no iss at all is refused by the checks below, as PyJWT names it)
                raise AccessTokenError("access token rejected (InvalidIssuerError)")
            kid = header.get("kid")
            key = metadata.signing_key(kid if isinstance(kid, str) else None)
            if header.get("alg") != key.algorithm:
                raise AccessTokenError("access token names another algorithm than its key")
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                issuer=metadata.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise AccessTokenError(f"access token rejected ({type(exc).__name__})") from exc
        except (ValueError, TypeError) as exc:
            raise AccessTokenError(f"access token could not be checked ({type(exc).__name__})") from exc
        if claims["exp"] + self.leeway < self._clock():  # PyJWT checked the system clock; this one counts
            raise AccessTokenError("access token rejected (ExpiredSignatureError)")
        if claims.get("iss") != metadata.issuer:  # exact, whatever PyJWT's version compares
            raise AccessTokenError("access token was issued by another issuer")
        if self.cognito and claims.get("token_use") != "access":
            raise AccessTokenError("token is not an access token (token_use)")
        if not self._is_for_this_app(claims):
            raise AccessTokenError("access token was issued to another client (aud/client_id)")
        if claims.get("sub") != expected_sub:
            raise AccessTokenError("access token belongs to another user (sub)")
        return claims

    def _is_for_this_app(self, claims: Mapping[str, Any]) -> bool:
        audience = claims.get("aud")
        audiences = (
            [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        )
        if self.audience in audiences:
            return True
        return any(claims.get(name) == self.audience for name in CLIENT_CLAIMS)

    def _refuse_unfit_jwt(self, token: str) -> None:
        """Before userinfo: a JWT issued to another app, or past its ``exp``, is refused (its claims read
        unverified: the provider's userinfo endpoint vouches for the rest)."""
        if token.count(".") != 2:
            return
        try:
            jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return  # not a JWT: an opaque token, which only userinfo can judge
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AccessTokenError(f"access token's claims cannot be read ({type(exc).__name__})") from exc
        if self.audience != ANY_AUDIENCE and not self._is_for_this_app(claims):
            raise AccessTokenError("access token was issued to another client (aud/client_id)")
        expires = unverified_expiry(token)
        if expires is not None and expires + self.leeway < self._clock():
            raise AccessTokenError("access token rejected (ExpiredSignatureError)")


def unverified_expiry(token: str) -> float | None:
    """The ``exp`` a JWT says it has, unverified (``None``: not a JWT, or no numeric ``exp``). Use it
    only to trust something for less time, never for more."""
    try:
        expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    return float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else None


def _is_verifiable_jwt(token: str) -> bool:
    """A JWS this app can check: three segments and a header without Entra ID's Graph ``nonce``."""
    if token.count(".") != 2:
        return False
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    return "nonce" not in header


__all__ = [
    "ANY_AUDIENCE",
    "CLIENT_CLAIMS",
    "MAX_ACCESS_TOKEN_LENGTH",
    "USERINFO_CHECKS_PER_USER",
    "IdpFacts",
    "IdpVerifier",
    "unverified_expiry",
]
