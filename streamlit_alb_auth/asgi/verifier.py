"""The door's verifier: ``authenticate`` per request, plus a bounded memory of header sets verified.

Used by ``AlbAuthMiddleware``; the page script has its own memory (the user in ``st.session_state``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from streamlit_alb_auth.access_token import unverified_expiry
from streamlit_alb_auth.authenticate import (
    Authenticator,
    GroupsProvider,
    HeaderValues,
    authenticator_for,
    header_values,
)
from streamlit_alb_auth.caches import TimedLru
from streamlit_alb_auth.config import AlbAuthSettings
from streamlit_alb_auth.errors import ConfigurationError
from streamlit_alb_auth.user import AlbUser

Derived = TypeVar("Derived")

__all__ = ["RequestVerifier"]


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
