"""Revoking the access token at logout within bounds: a small executor of its own, junk never sent.

The logout route (``asgi/logout_route.py``) answers at once from the Lambda's pure logic and leaves
``GlobalSignOut`` to ``Revocations``: ``workers`` threads and at most ``queue`` calls waiting for
them, never asyncio's default pool (which Streamlit also uses). When the queue is full the logout
still completes (cookies expired, redirect) and the revocation is skipped, fail-safe for the user:
one warning per ``warn_every`` seconds says how many were skipped.

Before a token costs a call it must look like one worth revoking (``revocable``): a JWT of sane size
whose payload has a ``sub`` and an ``exp`` still in the future; and, when the app knows its issuer
and client (``user_pool_id`` or ``oidc_issuer`` with ``client_id``), the package's access-token
verifier checks signature, issuer, client and expiry first (in the worker: it may fetch the JWKS; not
in ``userinfo`` mode, where its check would be a userinfo call).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import jwt

from streamlit_alb_auth.access_token import MAX_ACCESS_TOKEN_LENGTH
from streamlit_alb_auth.errors import AlbAuthError, log_safe
from streamlit_alb_auth.templates.logout_lambda import JWT, global_sign_out

if TYPE_CHECKING:
    from streamlit_alb_auth.access_token import IdpVerifier

MAX_TOKEN_LENGTH = MAX_ACCESS_TOKEN_LENGTH
WORKERS = 2
QUEUE = 8
WARN_EVERY = 60.0
_LOGGER = logging.getLogger("streamlit_alb_auth")


def _unverified_claims(token: str) -> dict[str, Any]:
    """The payload, unverified (PyJWT's reader: a JSON object header and payload, or ``DecodeError``)."""
    jwt.get_unverified_header(token)
    return jwt.decode(token, options={"verify_signature": False})


def revocable(token: str, *, now: float | None = None) -> str:
    """Why ``token`` is not worth a ``GlobalSignOut`` (``""``: it is), from its shape alone.

    >>> revocable("eyJ.junk.token")
    'not a JWT with JSON header and claims'
    """
    if not token or len(token) > MAX_TOKEN_LENGTH or not JWT.fullmatch(token):
        return "not a JWT of sane size"
    try:
        claims = _unverified_claims(token)
    except jwt.PyJWTError:
        return "not a JWT with JSON header and claims"
    expires, sub = claims.get("exp"), claims.get("sub")
    if not isinstance(sub, str) or not isinstance(expires, int | float) or isinstance(expires, bool):
        return "no sub or exp"
    if expires <= (time.time() if now is None else now):
        return "expired"
    return ""


class Revocations:
    """``GlobalSignOut`` calls on ``workers`` threads with at most ``queue`` waiting; beyond that, skipped.

    Parameters
    ----------
    access_tokens : IdpVerifier or None
        The app's access-token verifier; a token it refuses is not sent. ``None`` (no issuer
        configured) checks the shape only.
    sign_out : callable
        ``sign_out(url, token)``, the Lambda's ``global_sign_out`` (its own 2 s timeout).
    """

    def __init__(
        self,
        access_tokens: IdpVerifier | None = None,
        *,
        workers: int = WORKERS,
        queue: int = QUEUE,
        warn_every: float = WARN_EVERY,
        sign_out: Callable[[str, str], object] = global_sign_out,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.access_tokens = access_tokens
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alb-auth-revoke")
        self._slots = threading.BoundedSemaphore(workers + queue)
        self._sign_out = sign_out
        self._clock = clock
        self._warn_every = warn_every
        self._skipped = 0
        self._warned_at = float("-inf")
        self._lock = threading.Lock()

    def submit(self, url: str, token: str) -> Future[bool] | None:
        """Start revoking ``token`` (``None``: refused as junk, or skipped because the queue is full)."""
        why = revocable(token)
        if why:
            _LOGGER.debug("access token not revoked at logout: %s", why)
            return None
        if not self._slots.acquire(blocking=False):
            self._skip()
            return None
        future = self._executor.submit(self._revoke, url, token)
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def _revoke(self, url: str, token: str) -> bool:
        verifier = self.access_tokens
        if verifier is not None and not verifier.use_userinfo:
            sub = _unverified_claims(token)["sub"]
            try:
                verifier.check(token, expected_sub=sub)
            except AlbAuthError as error:
                _LOGGER.info("access token not revoked at logout: %s", log_safe(error))
                return False
        return bool(self._sign_out(url, token))

    def _skip(self) -> None:
        with self._lock:
            self._skipped += 1
            now = self._clock()
            if now - self._warned_at < self._warn_every:
                return
            skipped, self._skipped, self._warned_at = self._skipped, 0, now
        _LOGGER.warning(
            "logout revocation queue full: %d GlobalSignOut call(s) skipped (those users are logged "
            "out; their tokens live until they expire)",
            skipped,
        )

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
