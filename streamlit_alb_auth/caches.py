"""Every process-wide cache of the package, listed in one place, and the one way to clear them all.

Each cache lives beside the code that fills it; this list is where they are named, bounded and cleared.
``streamlit_alb_auth.testing.reset_state()`` calls ``clear_all()`` so a test starts from a fresh process's
state without touching a private name. A module not imported yet has nothing cached, so it is skipped
(clearing never imports Streamlit).

==========================================  =============================================  ==============
cache                                       holds                                          bound
==========================================  =============================================  ==============
``authenticate.SHARED_KEY_STORE``           ALB public keys by URL; failed fetches; budget  256 keys
``authenticate.authenticator_for``          one ``Authenticator`` (verifiers, JWKS) each    16 settings
                                            distinct settings
``bearer.bearer_verifier_for``              one ``BearerVerifier`` (its JWKS) each          16 settings
                                            distinct settings
``bearer`` verified bearer tokens           machine clients by token SHA-256, until exp     1,024 tokens
``config.checked_settings``                 settings checked once per set of read values   64
``config`` "no secrets file" memo           that ``st.secrets`` has no file, for 2 s        1
``session`` logged configuration problems   each misconfiguration logged once              64 messages
``logout`` component renderers              the button's mount function per app manager    weak keys
==========================================  =============================================  ==============

Not process-wide, so not cleared here: state that belongs to one object and goes with it. Each is
bounded; a test gets fresh ones by making a fresh object (or by ``clear_all``, which drops the
``Authenticator`` that owns the first three).

==========================================  =============================================  ==============
per-object state                            holds                                          bound
==========================================  =============================================  ==============
``AlbJwtVerifier`` verified tokens          data tokens already verified                   512
``UserinfoClient`` answers, budget          answers per token (5 min); checks per ``sub``   256; 4,096
``Authenticator.refusals`` (RefusalLog)     one warning per ``sub`` a minute, with a count  1,024 subs
``RequestVerifier`` (the door) users        verified header sets (``TimedLru``)            512
``RequestVerifier`` refused access tokens   header sets whose access token was refused,    64
                                            for 10 s, apart, so they never evict the above
``asgi.revocation.Revocations``             one executor per logout route (2 threads, 8    10 calls
                                            waiting); no module-level state
==========================================  =============================================  ==============
"""

from __future__ import annotations

import collections
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["CACHES", "TimedLru", "clear_all"]


def _key_store() -> None:
    sys.modules["streamlit_alb_auth.authenticate"].SHARED_KEY_STORE.clear()


def _authenticators() -> None:
    sys.modules["streamlit_alb_auth.authenticate"].authenticator_for.cache_clear()


def _bearer_verifiers() -> None:
    sys.modules["streamlit_alb_auth.bearer"].bearer_verifier_for.cache_clear()


def _bearer_tokens() -> None:
    sys.modules["streamlit_alb_auth.bearer"].forget_verified()


def _settings() -> None:
    sys.modules["streamlit_alb_auth.config"].checked_settings.cache_clear()


def _secrets_memo() -> None:
    sys.modules["streamlit_alb_auth.config"].forget_secrets_memo()


def _logged_problems() -> None:
    sys.modules["streamlit_alb_auth.session"].forget_logged_problems()


def _renderers() -> None:
    sys.modules["streamlit_alb_auth.logout"].forget_renderers()


# (module that owns it, what it is, how to clear it)
CACHES: tuple[tuple[str, str, Callable[[], None]], ...] = (
    ("streamlit_alb_auth.authenticate", "the shared ALB key store", _key_store),
    ("streamlit_alb_auth.authenticate", "authenticators per settings", _authenticators),
    ("streamlit_alb_auth.bearer", "bearer verifiers per settings", _bearer_verifiers),
    ("streamlit_alb_auth.bearer", "verified bearer tokens", _bearer_tokens),
    ("streamlit_alb_auth.config", "checked settings", _settings),
    ("streamlit_alb_auth.config", "the no-secrets-file memo", _secrets_memo),
    ("streamlit_alb_auth.session", "configuration problems already logged", _logged_problems),
    ("streamlit_alb_auth.logout", "component renderers", _renderers),
)


def clear_all() -> None:
    """Empty every process-wide cache of the modules imported so far."""
    for module, _what, clear in CACHES:
        if module in sys.modules:
            clear()


Key = TypeVar("Key")
Value = TypeVar("Value")


class TimedLru(Generic[Key, Value]):
    """A bounded cache for one object: at most ``size`` entries, each until its deadline (``inf``: until
    evicted); the least recently used go first. Thread-safe."""

    def __init__(self, size: int) -> None:
        self._entries: collections.OrderedDict[Key, tuple[Value, float]] = collections.OrderedDict()
        self._size = size
        self.lock = threading.Lock()

    def get(self, key: Key, now: float) -> Value | None:
        with self.lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[1] <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Key, value: Value, deadline: float) -> None:
        with self.lock:
            self._entries[key] = (value, deadline)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
