"""The identity provider's userinfo endpoint, asked whether it accepts a forwarded access token.

``access_token.IdpVerifier`` decides *when* to ask (userinfo mode, or a token it cannot verify itself);
this module asks, and bounds what asking costs:
  * an answer is kept per token (by the token's SHA-256, never the token) for ``ttl`` seconds, and never
    past the ``exp`` the token claims, so one user's page reruns cost one call;
  * each ``sub`` may start at most ``USERINFO_CHECKS_PER_USER`` calls a minute: a signed-in user who
    sends a new junk token a request cannot spend the budget the fetcher shares between users;
  * only a JSON object answering for the same ``sub`` counts.
Every failure is a ``UserinfoError`` that names what failed, never the token.
Pure Python; no Streamlit import.
"""

from __future__ import annotations

import collections
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from streamlit_alb_auth.errors import AccessTokenError, FetchError, UserinfoError
from streamlit_alb_auth.fetch import Fetcher

USERINFO_CHECKS_PER_USER = 10  # a minute; an answer is kept per token, so one user needs ~1
MAX_ANSWER_BYTES = 64 * 1024


class UserinfoClient:
    """Asks one userinfo endpoint about access tokens, within the bounds above.

    Parameters
    ----------
    timeout:
        Seconds for one call, whole (the default fetcher's).
    ttl:
        Seconds an answer is reused for its token (shortened to the token's own ``exp``).
    fetcher:
        The HTTP client (default: capped at ``MAX_ANSWER_BYTES`` an answer and 600 calls a minute).
    max_answers, max_users:
        How many answers, and how many users' recent calls, are remembered (least recently used go).
    """

    def __init__(
        self,
        *,
        timeout: float,
        ttl: float,
        fetcher: Fetcher | None = None,
        clock: Callable[[], float] = time.time,
        max_answers: int = 256,
        max_users: int = 4096,
    ) -> None:
        self.ttl = ttl
        self._fetcher = fetcher or Fetcher(
            timeout=timeout, max_bytes=MAX_ANSWER_BYTES, max_fetches_per_minute=600, what="userinfo"
        )
        self._clock = clock
        self._max_answers = max_answers
        self._max_users = max_users
        self._answers: collections.OrderedDict[str, tuple[Mapping[str, Any], float]] = (
            collections.OrderedDict()
        )
        self._calls_by_sub: collections.OrderedDict[str, collections.deque[float]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def ask(
        self, url: Callable[[], str], token: str, *, expected_sub: str, expires: float | None
    ) -> Mapping[str, Any]:
        """The endpoint's answer about ``token`` (``url()`` gives the endpoint, asked only when a call
        is needed; ``expires``: the token's claimed ``exp``, if any), or ``UserinfoError``."""
        digest = hashlib.sha256(token.encode("ascii")).hexdigest()
        now = self._clock()
        with self._lock:
            kept = self._answers.get(digest)
            if kept is not None and kept[1] > now:
                self._answers.move_to_end(digest)
                return _same_user(kept[0], expected_sub)
        self._charge(expected_sub, now)
        try:
            response = self._fetcher.get(
                url(), headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
            )
            answer = response.json()
        except AccessTokenError as exc:
            raise UserinfoError(f"userinfo endpoint unknown: {exc}") from exc
        except FetchError as exc:
            raise UserinfoError(f"userinfo refused: {type(exc).__name__}: {exc}") from exc
        if not isinstance(answer, dict):
            raise UserinfoError("userinfo did not answer with a JSON object")
        until = min(now + self.ttl, float("inf") if expires is None else expires)
        with self._lock:
            self._answers[digest] = (answer, until)
            while len(self._answers) > self._max_answers:
                self._answers.popitem(last=False)
        return _same_user(answer, expected_sub)

    def _charge(self, sub: str, now: float) -> None:
        with self._lock:
            times = self._calls_by_sub.pop(sub, None) or collections.deque()
            while times and times[0] <= now - 60.0:
                times.popleft()
            self._calls_by_sub[sub] = times  # most recently used last
            while len(self._calls_by_sub) > self._max_users:
                self._calls_by_sub.popitem(last=False)
            if len(times) >= USERINFO_CHECKS_PER_USER:
                raise UserinfoError(
                    f"over {USERINFO_CHECKS_PER_USER} userinfo checks for this user in the last minute"
                )
            times.append(now)


def _same_user(answer: Mapping[str, Any], expected_sub: str) -> Mapping[str, Any]:
    if answer.get("sub") != expected_sub:
        raise UserinfoError("userinfo answered for another user (sub)")
    return dict(answer)


__all__ = ["MAX_ANSWER_BYTES", "USERINFO_CHECKS_PER_USER", "UserinfoClient"]
