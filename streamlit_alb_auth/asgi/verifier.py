"""The door's verifier: ``authenticate`` per request, plus a bounded memory of header sets verified.

Used by ``AlbAuthMiddleware``; the page script has its own memory (the user in ``st.session_state``).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from streamlit_alb_auth.authenticate import GroupsProvider, HeaderValues, authenticator_for, header_values
from streamlit_alb_auth.config import AlbAuthSettings
from streamlit_alb_auth.user import AlbUser

Derived = TypeVar("Derived")

__all__ = ["RequestVerifier"]


class RequestVerifier(Generic[Derived]):
    """Verifies requests (ASGI headers) under one set of settings and one ``groups_provider``.

    The same ``authenticator_for(settings).authenticate`` as the page script's, so a token verified at
    the door is a cache hit in the page. On top, it remembers up to ``cache_size`` verified header sets:
    a request seen before costs the data token's time checks, no cryptography, no access-token check
    and no ``groups_provider`` call until the access token's own ``exp``. ``derive(user)`` is computed
    once per verified user and returned with it (the middleware's headers). Raises
    ``ConfigurationError`` at creation when the settings cannot work (no ALB ARN, ...).
    """

    def __init__(
        self,
        settings: AlbAuthSettings,
        derive: Callable[[AlbUser], Derived],
        *,
        groups_provider: GroupsProvider | None = None,
        cache_size: int = 512,
    ) -> None:
        self.settings = settings
        self._authenticator = authenticator_for(settings)
        self._derive = derive
        self._groups_provider = groups_provider
        self._users: collections.OrderedDict[HeaderValues, tuple[AlbUser, Derived]] = (
            collections.OrderedDict()
        )
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def verify(self, raw_headers: Iterable[tuple[bytes, bytes]]) -> tuple[AlbUser, Derived]:
        """The verified user and what was derived from it, or the ``AlbAuthError`` saying why not."""
        values = header_values(raw_headers)
        with self._lock:
            known = self._users.get(values)
        if known is not None:
            self._authenticator.data_verifier.verify(values[0])  # a cache hit: exp and nbf only
            if _access_token_fresh(known[0]):
                return known
        user = self._authenticator.authenticate(*values, groups_provider=self._groups_provider)
        verified = (user, self._derive(user))
        with self._lock:
            self._users[values] = verified
            while len(self._users) > self._cache_size:
                self._users.popitem(last=False)
        return verified


def _access_token_fresh(user: AlbUser) -> bool:
    expires = user.access_token_claims.get("exp")
    return not isinstance(expires, int | float) or time.time() < expires
