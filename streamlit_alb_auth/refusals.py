"""One warning per user per interval when groups are withheld: the rest counted, not repeated.

A signed-in user who sends a fresh junk access token with every request would otherwise add a log line a
request. ``RefusalLog`` writes the first refusal for a ``sub`` in full, counts the others in the same
interval, and puts the count in the next line it writes for that ``sub``::

    access token not trusted for sub 'abc', groups withheld: AccessTokenError: ... (41 more refused for
    sub 'abc' in the 60 s before)

It remembers at most ``max_subs`` users (the least recently refused are forgotten with their counts).
Every value is escaped with ``log_safe``; no token is ever passed in.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from streamlit_alb_auth.errors import log_safe

REFUSAL_LOG_INTERVAL = 60.0
REFUSAL_LOG_SUBS = 1024


class RefusalLog:
    """Warnings about one ``sub``, at most one per ``interval`` seconds; the rest counted.

    Parameters
    ----------
    logger : logging.Logger
        Where the warnings go.
    interval : float
        Seconds a ``sub``'s first warning covers.
    max_subs : int
        Users remembered at once (bounded memory whatever the traffic).
    clock : callable
        Seconds, monotonic.

    Examples
    --------
    >>> log = RefusalLog(logging.getLogger("demo"))
    >>> [log.refused("user-1", "no access token") for _ in range(3)]
    [True, False, False]
    >>> log.suppressed
    2
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = REFUSAL_LOG_INTERVAL,
        max_subs: int = REFUSAL_LOG_SUBS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._max_subs = max_subs
        self._clock = clock
        self._by_sub: collections.OrderedDict[str, tuple[float, int]] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.suppressed = 0  # refusals counted instead of written, since this log was created

    def refused(self, sub: str, reason: str) -> bool:
        """Record that ``sub``'s groups were withheld for ``reason``; ``True`` if a line was written."""
        now = self._clock()
        with self._lock:
            started, counted = self._by_sub.pop(sub, (None, 0))
            if started is not None and now - started < self._interval:
                self._by_sub[sub] = (started, counted + 1)
                self.suppressed += 1
                return False
            self._by_sub[sub] = (now, 0)
            while len(self._by_sub) > self._max_subs:
                self._by_sub.popitem(last=False)
        if counted:
            self._logger.warning(
                "groups withheld for sub %s: %s (%d more refused for sub %s in the %.0f s before)",
                log_safe(sub),
                log_safe(reason),
                counted,
                log_safe(sub),
                self._interval,
            )
        else:
            self._logger.warning("groups withheld for sub %s: %s", log_safe(sub), log_safe(reason))
        return True


__all__ = ["REFUSAL_LOG_INTERVAL", "REFUSAL_LOG_SUBS", "RefusalLog"]
