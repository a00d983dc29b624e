"""A request's ALB headers (ASGI form) to a verified ``AlbUser``, for the middleware. No Streamlit import.

Verification is ``authenticator_for(settings).authenticate``, the same as ``get_alb_user``'s, so a token
verified at the door is a cache hit in the page script. On top, a request whose three headers were
verified before costs two dictionary lookups and the data token's time checks: no cryptography, no
access-token check and no ``groups_provider`` call until the access token's own ``exp``.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from streamlit_alb_auth.auth import ACCESS_TOKEN_HEADER, DATA_HEADER, IDENTITY_HEADER, authenticator_for
from streamlit_alb_auth.config import AlbAuthSettings
from streamlit_alb_auth.errors import MalformedTokenError
from streamlit_alb_auth.identity import AlbUser

HeaderValues = tuple[str, str, str]
Derived = TypeVar("Derived")
_WANTED = {name.encode(): name for name in (DATA_HEADER, IDENTITY_HEADER, ACCESS_TOKEN_HEADER)}


class RequestVerifier(Generic[Derived]):
    """Verifies requests under one set of settings; remembers up to ``cache_size`` verified header sets.

    ``derive(user)`` is computed once per verified user and returned with it (the middleware's headers).
    Raises ``ConfigurationError`` at creation when the settings cannot work (no ALB ARN, ...).
    """

    def __init__(
        self, settings: AlbAuthSettings, derive: Callable[[AlbUser], Derived], *, cache_size: int = 512
    ) -> None:
        self._authenticator = authenticator_for(settings)
        self._derive = derive
        self._users: collections.OrderedDict[HeaderValues, tuple[AlbUser, Derived]] = (
            collections.OrderedDict()
        )
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def verify(self, raw_headers: Iterable[tuple[bytes, bytes]]) -> tuple[AlbUser, Derived]:
        """The verified user and what was derived from it, or the ``AlbAuthError`` saying why not."""
        values = alb_header_values(raw_headers)
        with self._lock:
            known = self._users.get(values)
        if known is not None:
            self._authenticator.data_verifier.verify(values[0])  # a cache hit: exp and nbf only
            if _access_token_fresh(known[0]):
                return known
        user = self._authenticator.authenticate(*values)
        verified = (user, self._derive(user))
        with self._lock:
            self._users[values] = verified
            while len(self._users) > self._cache_size:
                self._users.popitem(last=False)
        return verified


def alb_header_values(raw_headers: Iterable[tuple[bytes, bytes]]) -> HeaderValues:
    """``(data, identity, access_token)``; a repeated one is refused rather than guessed at."""
    found: dict[str, str] = {}
    for name, value in raw_headers:
        key = _WANTED.get(name.lower())
        if key is None:
            continue
        if key in found:
            raise MalformedTokenError(f"{key} appears more than once")
        found[key] = value.decode("latin-1")
    return found.get(DATA_HEADER, ""), found.get(IDENTITY_HEADER, ""), found.get(ACCESS_TOKEN_HEADER, "")


def _access_token_fresh(user: AlbUser) -> bool:
    expires = user.access_token_claims.get("exp")
    return not isinstance(expires, int | float) or time.time() < expires
