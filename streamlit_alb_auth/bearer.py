"""Machine clients: an ``Authorization: Bearer <JWT>`` access token, verified by the app itself.

The ALB's ``jwt-validation`` action checks such a token before forwarding it, but the app never relies
on that: its container can be reached around the ALB. ``BearerVerifier.verify`` checks the token as
the ALB does, and more:
  * at most ``MAX_ACCESS_TOKEN_LENGTH`` characters of compact JWS syntax, before anything is parsed;
  * ``alg`` ``RS256`` only (the one algorithm ``jwt-validation`` supports), with a key of the issuer's
    JWKS that is itself an RS256 key (``none``, HS256 with the public key as secret, ES256: refused);
  * ``iss`` exactly ``bearer_issuer``; ``exp`` required; ``nbf`` and ``iat`` when present; all with
    ``leeway`` seconds;
  * ``bearer_audience`` in ``aud``, or equal to ``client_id``/``azp``/``cid`` (a client-credentials
    token from Cognito has no ``aud``): required, or any client of the same issuer would be accepted.
The JWKS (or the discovery document naming it) comes through ``oidc_metadata.OidcMetadata`` and so the
package's one ``Fetcher``. Failures raise the package's typed errors (``errors.py``), never a token.

What is cached, process-wide (listed in ``caches.py``): one verifier per distinct bearer settings
(``bearer_verifier_for``), and up to ``VERIFIED_TOKENS`` verified tokens by their SHA-256 (never the
token itself), each until its ``exp``: a repeat costs a hash and a dictionary lookup. Beside them, the
same machines by what ``st.user`` shows of them (``sub``, client id, groups): Streamlit withholds the
``Authorization`` header from a session, so the page script finds a machine the door verified by its
``st.user`` (``door_verified``), and ``get_alb_user``, ``require_groups`` and ``Page(groups=)`` see it
without knowing the door's settings, and only while one of its tokens lives.
Pure Python (PyJWT); no Streamlit import.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt

from streamlit_alb_auth.access_token import CLIENT_CLAIMS, MAX_ACCESS_TOKEN_LENGTH
from streamlit_alb_auth.config import DEFAULT_BEARER_GROUPS_CLAIM, AlbAuthSettings
from streamlit_alb_auth.errors import (
    ClientMismatchError,
    ConfigurationError,
    InvalidSignatureError,
    IssuerMismatchError,
    MalformedTokenError,
    MissingHeaderError,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenTooLargeError,
    UnsupportedAlgorithmError,
)
from streamlit_alb_auth.fetch import Fetcher
from streamlit_alb_auth.oidc_metadata import OidcMetadata
from streamlit_alb_auth.user import MAX_PROVIDED_GROUPS, AlbUser, claim_at

BEARER_ALGORITHM = "RS256"
VERIFIED_TOKENS = 1024
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")  # alg none: no signature
_AUDIENCE_CLAIMS = CLIENT_CLAIMS  # the access token's: one list of where a client is named

# digest -> (the verified machine, its exp, the verifier that verified it); oldest first.
_verified: collections.OrderedDict[str, tuple[AlbUser, float, BearerVerifier]] = collections.OrderedDict()
# (sub, client id, groups) -> (the machine, the latest exp of its tokens + leeway): what the page finds.
_machines: collections.OrderedDict[tuple[Any, ...], tuple[AlbUser, float]] = collections.OrderedDict()
_verified_lock = threading.Lock()  # process-wide, both: listed in caches.py


class BearerVerifier:
    """Verifies machine clients' bearer tokens for one issuer and one audience. Create once; thread-safe.

    Parameters
    ----------
    issuer : str
        The tokens' ``iss``, exactly; also where the discovery document is (when ``jwks_url`` is unset).
    audience : str
        Who a token must be for: in its ``aud``, or its ``client_id``/``azp``/``cid``. Required.
    jwks_url : str, optional
        The issuer's JWKS; by default the ``jwks_uri`` of its discovery document.
    groups_claim : str
        Where the groups are: a string is split on spaces (OAuth's ``scope``), a list keeps its strings.
    leeway : float
        Seconds of clock skew allowed for ``exp``, ``nbf`` and ``iat``.
    fetcher : Fetcher, optional
        What fetches discovery and the JWKS (``oidc_metadata.metadata_fetcher`` by default).

    Examples
    --------
    >>> verifier = BearerVerifier("https://idp.example.com", audience="my-agent-client")
    >>> machine = verifier.verify(token)  # doctest: +SKIP
    >>> machine.is_machine, machine.client_id, machine.groups  # doctest: +SKIP
    (True, 'my-agent-client', ('streamlit/agent',))
    """

    def __init__(
        self,
        issuer: str,
        *,
        audience: str | None,
        jwks_url: str | None = None,
        groups_claim: str = DEFAULT_BEARER_GROUPS_CLAIM,
        leeway: float = 30.0,
        fetcher: Fetcher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not audience:
            raise ConfigurationError(
                "bearer_issuer needs bearer_audience (the client id or audience the tokens must be for): "
                "without it a token the issuer gave any other client would be accepted",
                setting="bearer_audience",
            )
        self.issuer = issuer
        self.audience = audience
        self.groups_claim = groups_claim
        self.leeway = leeway
        self.metadata = OidcMetadata(issuer, jwks_url=jwks_url, fetcher=fetcher)
        self._clock = clock

    def verify(self, token: str) -> AlbUser:
        """The machine client this token proves, or the ``AlbAuthError`` saying why not."""
        if len(token) > MAX_ACCESS_TOKEN_LENGTH:
            raise TokenTooLargeError(f"bearer token is over {MAX_ACCESS_TOKEN_LENGTH} characters")
        if not _COMPACT_JWS.fullmatch(token):
            raise MalformedTokenError("bearer token is not a compact JWS")
        digest = hashlib.sha256(token.encode("ascii")).hexdigest()
        now = self._clock()
        with _verified_lock:
            known = _verified.get(digest)
        if known is not None and known[2] is self and now <= known[1] + self.leeway:
            return known[0]
        claims = self._verified_claims(token)
        machine = AlbUser(claims, groups=self._groups(claims), machine=True)
        until = float(claims["exp"])
        identity = (machine.sub, machine.client_id, machine.groups)
        with _verified_lock:
            _verified[digest] = (machine, until, self)
            _verified.move_to_end(digest)
            latest = max(until + self.leeway, _machines.get(identity, (None, 0.0))[1])
            _machines[identity] = (machine, latest)
            _machines.move_to_end(identity)
            for cache in (_verified, _machines):
                while len(cache) > VERIFIED_TOKENS:
                    cache.popitem(last=False)
        return machine

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise MalformedTokenError(f"bearer token header unreadable ({type(exc).__name__})") from exc
        if header.get("alg") != BEARER_ALGORITHM:
            raise UnsupportedAlgorithmError(f"bearer token alg is {header.get('alg')!r:.40}, not RS256")
        kid = header.get("kid")
        key = self.metadata.signing_key(kid if isinstance(kid, str) else None)  # AccessTokenError
        if key.algorithm != BEARER_ALGORITHM:
            raise UnsupportedAlgorithmError("the JWKS key for this kid is not an RS256 key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[BEARER_ALGORITHM],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise _typed(exc) from exc
        except (ValueError, TypeError) as exc:
            raise MalformedTokenError(f"bearer token could not be checked ({type(exc).__name__})") from exc
        if self._clock() > claims["exp"] + self.leeway:  # PyJWT reads the system clock; ours is injectable
            raise TokenExpiredError("bearer token has expired")
        if claims.get("iss") != self.issuer:  # exact, whatever PyJWT's version compares
            raise IssuerMismatchError("bearer token was issued by another issuer")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise MalformedTokenError("bearer token has no sub")
        if not self._is_for_us(claims):
            raise ClientMismatchError("bearer token is for another client (aud/client_id)")
        return claims

    def _is_for_us(self, claims: Mapping[str, Any]) -> bool:
        audience = claims.get("aud")
        if isinstance(audience, str):
            audience = [audience]
        if isinstance(audience, list) and self.audience in audience:
            return True
        return any(claims.get(name) == self.audience for name in _AUDIENCE_CLAIMS)

    def _groups(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        value = claim_at(claims, self.groups_claim)
        if isinstance(value, str):
            groups: Iterable[Any] = value.split(" ")
        elif isinstance(value, list):
            groups = value
        else:
            return ()
        return tuple(group for group in groups if isinstance(group, str) and group)[:MAX_PROVIDED_GROUPS]


def _typed(exc: jwt.PyJWTError) -> Exception:
    name = type(exc).__name__
    if isinstance(exc, jwt.ExpiredSignatureError):
        return TokenExpiredError("bearer token has expired")
    if isinstance(exc, jwt.ImmatureSignatureError):
        return TokenNotYetValidError("bearer token is not valid yet (nbf/iat)")
    if isinstance(exc, jwt.InvalidIssuerError):
        return IssuerMismatchError("bearer token was issued by another issuer")
    if isinstance(exc, jwt.InvalidSignatureError):
        return InvalidSignatureError("bearer token signature does not verify")
    return MalformedTokenError(f"bearer token rejected ({name})")


def bearer_token(authorization: Iterable[str]) -> str:
    """The token of the one ``Authorization: Bearer`` header among ``authorization`` (its values).

    None is ``MissingHeaderError``; two, another scheme or an empty token ``MalformedTokenError``.
    """
    values = list(authorization)
    if not values:
        raise MissingHeaderError("no Authorization header")
    if len(values) > 1:
        raise MalformedTokenError("Authorization appears more than once")
    scheme, _, token = values[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise MalformedTokenError("Authorization is not Bearer <token>")
    return token.strip()


def door_verified(sub: object, client_id: object, groups: tuple[str, ...]) -> AlbUser | None:
    """The machine client with this ``sub``, client id and groups that a verifier of this process (the
    door, ``AlbAuthMiddleware``) verified, while one of its tokens lives; ``None`` otherwise. What the
    page script uses: it sees only ``st.user``, has no bearer settings, and needs none, because only a
    verifier ever adds to this cache."""
    with _verified_lock:
        known = _machines.get((sub, client_id, groups))
    if known is None or time.time() > known[1]:
        return None
    return known[0]


def forget_verified() -> None:
    """Verify every bearer token again (``caches.clear_all``)."""
    with _verified_lock:
        _verified.clear()
        _machines.clear()


@functools.lru_cache(maxsize=16)  # process-wide: listed in caches.py
def bearer_verifier_for(settings: AlbAuthSettings) -> BearerVerifier | None:
    """The ``BearerVerifier`` for these settings (created once), or ``None`` when ``bearer_issuer`` is
    unset; ``ConfigurationError`` when a bearer setting is given without it, or it without an audience."""
    if not settings.bearer_issuer:
        stray = [name for name in ("bearer_audience", "bearer_jwks_url") if getattr(settings, name)]
        if stray:
            raise ConfigurationError(f"{stray[0]} needs bearer_issuer", setting="bearer_issuer")
        return None
    return BearerVerifier(
        settings.bearer_issuer,
        audience=settings.bearer_audience,
        jwks_url=settings.bearer_jwks_url,
        groups_claim=settings.bearer_groups_claim,
    )


__all__ = [
    "BEARER_ALGORITHM",
    "VERIFIED_TOKENS",
    "BearerVerifier",
    "bearer_token",
    "bearer_verifier_for",
    "door_verified",
    "forget_verified",
]
