"""A request's ALB headers to a verified ``AlbUser``, for the ASGI middleware. No Streamlit server needed.

This is the one place the middleware meets the verifiers (``get_alb_user``'s own, so a token verified at
the door is a cache hit in the page script).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from streamlit_alb_auth.config import AlbAuthSettings
from streamlit_alb_auth.errors import (
    AlbAuthError,
    IdentityMismatchError,
    MalformedTokenError,
    MissingHeaderError,
)
from streamlit_alb_auth.user import (
    ACCESS_TOKEN_HEADER,
    DATA_HEADER,
    IDENTITY_HEADER,
    AlbUser,
    _access_verifier,
    _data_verifier,
)

_LOGGER = logging.getLogger("streamlit_alb_auth")
_WANTED = {name.encode(): name for name in (DATA_HEADER, IDENTITY_HEADER, ACCESS_TOKEN_HEADER)}


class RequestVerifier:
    """The request's ALB headers to a verified ``AlbUser``: the one place this module meets the verifiers.

    It shares ``get_alb_user``'s verifiers, so a token verified at the door is a cache hit in the page.
    Verified access tokens are remembered too (up to ``cache_size``, each until its ``exp``).
    """

    def __init__(self, settings: AlbAuthSettings, *, cache_size: int = 512) -> None:
        self._data = _data_verifier(settings)
        self._access = _access_verifier(settings) if settings.user_pool_id else None
        self._access_claims: collections.OrderedDict[str, Mapping[str, Any]] = collections.OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def verify(self, raw_headers: Iterable[tuple[bytes, bytes]]) -> AlbUser:
        data, identity, access_token = _alb_headers(raw_headers)
        if not data:
            raise MissingHeaderError(f"no {DATA_HEADER} header")
        claims = self._data.verify(data)
        if identity != claims.get("sub"):
            raise IdentityMismatchError(f"{IDENTITY_HEADER} does not match the verified sub")
        return AlbUser(
            claims,
            access_token_claims=self._verified_access(access_token, claims["sub"]),
            header_values=(data, identity, access_token),
        )

    def _verified_access(self, token: str, sub: str) -> Mapping[str, Any]:
        """The access token's claims if it verifies; otherwise none (the user keeps the identity)."""
        if self._access is None or not token:
            return {}
        with self._lock:
            known = self._access_claims.get(token)
        if known is not None and _fresh(known, sub, self._access.leeway):
            return known
        try:
            claims = self._access.verify(token, expected_sub=sub)
        except AlbAuthError as error:
            _LOGGER.info("access token not trusted, groups withheld: %s", type(error).__name__)
            return {}
        with self._lock:
            self._access_claims[token] = claims
            while len(self._access_claims) > self._cache_size:
                self._access_claims.popitem(last=False)
        return claims


def _alb_headers(raw_headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str, str]:
    """The data, identity and access-token headers; a repeated one is refused rather than guessed at."""
    found: dict[str, str] = {}
    for name, value in raw_headers:
        key = _WANTED.get(name.lower())
        if key is None:
            continue
        if key in found:
            raise MalformedTokenError(f"{key} appears more than once")
        found[key] = value.decode("latin-1")
    return found.get(DATA_HEADER, ""), found.get(IDENTITY_HEADER, ""), found.get(ACCESS_TOKEN_HEADER, "")


def _fresh(claims: Mapping[str, Any], sub: str, leeway: float) -> bool:
    expires = claims.get("exp")
    return claims.get("sub") == sub and isinstance(expires, int | float) and time.time() < expires + leeway
