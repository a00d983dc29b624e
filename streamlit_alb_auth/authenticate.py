"""Headers to a verified ``AlbUser``, under one set of settings. No Streamlit import.

The one path from the ALB's three headers to a user, for the page script (``session.get_alb_user``),
the door of ``st.App`` (``asgi``) and anything else (a worker)::

    from streamlit_alb_auth.authenticate import authenticator_for, header_values
    from streamlit_alb_auth.config import resolve_settings

    authenticator = authenticator_for(resolve_settings({}, secrets={}))   # cached per settings
    user = authenticator.authenticate(*header_values(request.headers))    # or raises AlbAuthError
    user.sub, user.email, user.groups

``header_values`` is the one header reader: a header the ALB sends once that arrives more than once is
refused (``MalformedTokenError``), whichever door it came in by. ``groups_provider`` is an argument of
``authenticate``, not a setting: code is passed where it is called.

Identity failures raise (the caller decides what the visitor sees); a failure to establish *groups*
does not: the user keeps the verified identity with no groups, and the reason is logged (escaped; one
line per user a minute, the rest counted: ``refusals.RefusalLog``).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from streamlit_alb_auth.access_token import IdpFacts, IdpVerifier, unverified_expiry
from streamlit_alb_auth.caches import TimedLru
from streamlit_alb_auth.cognito import issuer_aliases
from streamlit_alb_auth.config import HOW_TO_CONFIGURE, AlbAuthSettings
from streamlit_alb_auth.errors import (
    AlbAuthError,
    ConfigurationError,
    IdentityMismatchError,
    MalformedTokenError,
    MissingHeaderError,
    log_safe,
)
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.refusals import RefusalLog
from streamlit_alb_auth.user import AlbUser, as_groups, claim_at, groups_in
from streamlit_alb_auth.verify import AlbJwtVerifier

DATA_HEADER = "x-amzn-oidc-data"
IDENTITY_HEADER = "x-amzn-oidc-identity"
ACCESS_TOKEN_HEADER = "x-amzn-oidc-accesstoken"  # noqa: S105 - a header name

HeaderValues = tuple[str, str, str]
GroupsProvider = Callable[[AlbUser], Iterable[str]]
Derived = TypeVar("Derived")
_WANTED = (DATA_HEADER, IDENTITY_HEADER, ACCESS_TOKEN_HEADER)
_WANTED_RAW = {name.encode(): name for name in _WANTED}

LOGGER = logging.getLogger("streamlit_alb_auth")
SHARED_KEY_STORE = AlbKeyStore()  # process-wide: listed in caches.py


def header_values(headers: Mapping[str, str] | Iterable[tuple[bytes, bytes]]) -> HeaderValues:
    """``(data, identity, access_token)``; a missing header is ``""``, a repeated one is refused.

    ``headers`` is a mapping in any case (``st.context.headers``, whose ``get_all`` shows repeats; a
    dict) or ASGI's raw ``(name, value)`` byte pairs. A header the ALB sends once that arrives twice was
    added by someone else: ``MalformedTokenError``, never a guess at which copy to trust.
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
            name = _WANTED_RAW.get(raw_name.lower())
            if name is not None:
                yield name, raw_value.decode("latin-1")
        return
    get_all = getattr(headers, "get_all", None)
    for key in headers:
        name = str(key).lower()
        if name in _WANTED:
            for value in get_all(key) if callable(get_all) else [headers[key]]:
                if value:
                    yield name, value


class Authenticator:
    """Verifies the ALB's headers under one set of settings. Create with ``authenticator_for``.

    Raises ``ConfigurationError`` at creation when the settings cannot work together (no ALB ARN;
    ``user_pool_id`` and ``oidc_issuer`` both set; access tokens checked without ``client_id`` or
    ``audience``, which would accept a token the IdP issued to any other app; ``userinfo`` without an
    issuer). ``clock`` (seconds since the epoch) is what every expiry is checked against.
    """

    def __init__(
        self,
        settings: AlbAuthSettings,
        *,
        key_store: AlbKeyStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
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
            clock=clock,
        )
        self.clock = clock
        self.idp_verifier = _idp_verifier(settings, clock)
        self.refusals = RefusalLog(LOGGER)

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
            self.refusals.refused(sub, f"no {ACCESS_TOKEN_HEADER} header")
            return IdpFacts()
        try:
            return self.idp_verifier.check(access_token, expected_sub=sub)
        except AlbAuthError as exc:
            self.refusals.refused(sub, f"access token not trusted: {type(exc).__name__}: {exc}")
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


class RequestVerifier(Generic[Derived]):
    """Verifies requests (ASGI headers) under one set of settings and one ``groups_provider``.

    The same ``authenticator_for(settings).authenticate`` as the page script's, so a token verified at
    the door is a cache hit in the page. On top, it remembers up to ``cache_size`` verified header sets:
    a request seen before costs the data token's time checks (its ``exp``, on every hit), no
    cryptography, no access-token check and no ``groups_provider`` call until the access token's own
    ``exp`` (with userinfo: the token's ``exp`` or the answer's lifetime, whichever comes first), when the
    user is verified again (and loses the groups an expired token gave). A header set
    whose access token was refused is remembered apart, for ``refused_ttl`` seconds in a small cache of
    its own (``refused_cache_size``), so a flood of junk access tokens never evicts a verified user.
    ``derive(user)`` is computed once per verified user and returned with it (the middleware's headers).
    ``verifications`` counts the requests that were not cache hits. Raises ``ConfigurationError`` at
    creation when the settings cannot work (no ALB ARN, ...).
    """

    def __init__(
        self,
        settings: AlbAuthSettings,
        derive: Callable[[AlbUser], Derived],
        *,
        groups_provider: GroupsProvider | None = None,
        cache_size: int = 512,
        refused_cache_size: int = 64,
        refused_ttl: float = 10.0,
        authenticator: Authenticator | None = None,
    ) -> None:
        if authenticator is not None and authenticator.settings != settings:
            raise ConfigurationError("the authenticator given was made for other settings")
        self.settings = settings
        self._authenticator = authenticator or authenticator_for(settings)
        self._derive = derive
        self._groups_provider = groups_provider
        self._users: TimedLru[HeaderValues, tuple[AlbUser, Derived]] = TimedLru(cache_size)
        self._refused: TimedLru[HeaderValues, tuple[AlbUser, Derived]] = TimedLru(refused_cache_size)
        self._refused_ttl = refused_ttl
        self.verifications = 0

    def verify(self, raw_headers: Iterable[tuple[bytes, bytes]]) -> tuple[AlbUser, Derived]:
        """The verified user and what was derived from it, or the ``AlbAuthError`` saying why not."""
        values = header_values(raw_headers)
        now = self._authenticator.clock()
        known = self._users.get(values, now) or self._refused.get(values, now)
        if known is not None:
            self._authenticator.data_verifier.verify(values[0])  # a cache hit: exp and nbf only
            return known
        user = self._authenticator.authenticate(*values, groups_provider=self._groups_provider)
        verified = (user, self._derive(user))
        with self._users.lock:
            self.verifications += 1
        if self._access_token_refused(values[2], user):
            self._refused.put(values, verified, now + self._refused_ttl)
        else:
            self._users.put(values, verified, self._trusted_until(values[2], user, now))
        return verified

    def _trusted_until(self, access_token: str, user: AlbUser, now: float) -> float:
        """Until when what the access token gave may be reused: its verified ``exp`` and the leeway the
        verifier allows (so the token is not checked again on every request in between); with
        userinfo, its ``exp`` as written (read only to shorten the wait) and the answer's lifetime."""
        verifier = self._authenticator.idp_verifier
        expires = user.access_token_claims.get("exp")
        if verifier is not None and isinstance(expires, int | float):
            return float(expires) + verifier.leeway
        if verifier is None or not user.userinfo:
            return float("inf")
        return min(now + verifier.userinfo_ttl, unverified_expiry(access_token) or float("inf"))

    def _access_token_refused(self, access_token: str, user: AlbUser) -> bool:
        checked = self._authenticator.idp_verifier is not None and bool(access_token)
        return checked and not user.access_token_claims and not user.userinfo


def _idp_verifier(settings: AlbAuthSettings, clock: Callable[[], float]) -> IdpVerifier | None:
    if settings.user_pool_id and settings.oidc_issuer:
        raise ConfigurationError(
            "set either user_pool_id (Cognito) or oidc_issuer (any other provider), not both",
            setting="oidc_issuer",
        )
    options: dict[str, Any] = {
        "jwks_url": settings.jwks_url,
        "userinfo": settings.userinfo,
        "userinfo_url": settings.userinfo_url,
        "clock": clock,
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
    "RequestVerifier",
    "authenticator_for",
    "header_values",
]
