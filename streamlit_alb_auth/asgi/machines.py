"""The door for machine clients: which requests may prove themselves with a bearer token instead of the ALB.

A request is a machine client's when its path is one of the ``bearer_paths`` AND it carries none of the
ALB's ``x-amzn-oidc-*`` headers. Everything else is the browser door's (``authenticate``): so a bearer
token never upgrades or replaces a person's identity (a request with ALB headers is judged by them
alone, and fails if they fail), and on every other path a bearer token without an ALB user gets 401.

By default the paths are Streamlit's agent API, ``/_stcore/agent/`` and everything under it (under
``server.baseUrlPath`` too): what stack.yaml's machine rule and ``dev --machine-clients`` open to bearer
tokens, and the only part of a Streamlit server a program can use without a browser. Opening the page
websocket (``/_stcore/stream``) or media to machines is possible (``bearer_paths``) but is a choice to
make on purpose. A path ending in ``/`` covers everything under it; any other is one exact path; a
request path with a ``.`` or ``..`` segment is never a machine path.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from streamlit_alb_auth.asgi.user_headers import identity_headers
from streamlit_alb_auth.authenticate import ACCESS_TOKEN_HEADER, DATA_HEADER, IDENTITY_HEADER
from streamlit_alb_auth.bearer import bearer_token
from streamlit_alb_auth.errors import ConfigurationError

if TYPE_CHECKING:
    from streamlit_alb_auth.bearer import BearerVerifier
    from streamlit_alb_auth.user import AlbUser

AGENT_API_PATH = "/_stcore/agent/"
CHALLENGE = b'Bearer realm="streamlit", error="invalid_token"'
_ALB_HEADERS = frozenset(name.encode() for name in (DATA_HEADER, IDENTITY_HEADER, ACCESS_TOKEN_HEADER))


def default_bearer_paths() -> tuple[str, ...]:
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return (f"/{base}{AGENT_API_PATH}" if base else AGENT_API_PATH,)


class MachineDoor:
    """Bearer tokens on ``paths``, checked by ``verifier``; the verified machine as ``st.user`` headers."""

    def __init__(self, verifier: BearerVerifier, paths: Iterable[str]) -> None:
        self.verifier = verifier
        paths = (paths,) if isinstance(paths, str) else tuple(paths)
        for path in paths:
            if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
                raise ConfigurationError(f"bearer_paths must be URL paths starting with one /: {path!r:.80}")
        self.prefixes = tuple(path for path in paths if path.endswith("/"))
        self.exact = frozenset(path for path in paths if not path.endswith("/"))
        # A repeat token gives back the same machine object: its headers are built once (~10 us saved).
        self._headers: collections.OrderedDict[int, tuple[AlbUser, list[tuple[bytes, bytes]]]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def admits(self, path: str, raw_headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """Whether this request is a machine client's to prove (see the module's docstring)."""
        if not (path in self.exact or path.startswith(self.prefixes)) or _has_dot_segment(path):
            return False
        return not any(name.lower() in _ALB_HEADERS for name, _ in raw_headers)

    def verify(self, raw_headers: Iterable[tuple[bytes, bytes]]) -> tuple[AlbUser, list[tuple[bytes, bytes]]]:
        """The verified machine and its internal headers, or the ``AlbAuthError`` saying why not."""
        token = bearer_token(
            value.decode("latin-1") for name, value in raw_headers if name.lower() == b"authorization"
        )
        machine = self.verifier.verify(token)
        with self._lock:
            known = self._headers.get(id(machine))
        if known is not None and known[0] is machine:
            return known
        verified = (machine, identity_headers(machine))
        with self._lock:
            self._headers[id(machine)] = verified
            while len(self._headers) > 512:
                self._headers.popitem(last=False)
        return verified


def _has_dot_segment(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))
