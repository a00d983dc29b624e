"""Test helpers for apps that use this package: ``signed_in()`` for ``AppTest``, local keys, ALB-shaped
headers, a loopback key server.

``signed_in(email=..., groups=[...])`` runs the ``AppTest`` runs inside it as that user, verified for real
(see ``testing/apptest.py`` and docs/testing-your-app.md); the pieces below are what it is made of.

Nothing here talks to AWS. ``reset_state()`` empties the package's process-wide caches (``caches.py``),
so each test can start as a fresh process would. Use them in your own tests::

    from streamlit_alb_auth.testing import LocalAlbSigner, LocalKeyServer

    signer = LocalAlbSigner()
    with LocalKeyServer(signer) as keys:
        verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=keys.alb_key_url)
        headers = signer.headers({"sub": "user-1", "email": "a@example.com"})
        assert verifier.verify(headers["x-amzn-oidc-data"])["email"] == "a@example.com"
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from streamlit_alb_auth import caches
from streamlit_alb_auth.localidp import LocalOidcProvider
from streamlit_alb_auth.testing.signing import (
    DEFAULT_TEST_ALB_ARN,
    DEFAULT_TEST_ISSUER,
    DEFAULT_TEST_REGION,
    DEFAULT_TEST_USER_POOL_ID,
    LocalAlbSigner,
    LocalCognitoPool,
    padded_b64url,
)

__all__ = [
    "DEFAULT_TEST_ALB_ARN",
    "DEFAULT_TEST_ISSUER",
    "DEFAULT_TEST_REGION",
    "DEFAULT_TEST_USER_POOL_ID",
    "LocalAlbSigner",
    "LocalCognitoPool",
    "LocalKeyServer",
    "SignedIn",
    "click_logout",
    "padded_b64url",
    "reset_state",
    "signed_in",
    "signed_out",
    "stop_process_group",
]


_APPTEST_NAMES = ("SignedIn", "click_logout", "signed_in", "signed_out")


def __getattr__(name: str) -> Any:
    # signed_in() and its kin import Streamlit: loaded on first use, so the stand-in's signing does not.
    if name in _APPTEST_NAMES:
        from streamlit_alb_auth.testing import apptest

        return getattr(apptest, name)
    raise AttributeError(f"module 'streamlit_alb_auth.testing' has no attribute {name!r}")


def reset_state() -> None:
    """Empty every process-wide cache of the package (keys, verifiers, settings; see ``caches.py``).

    Examples
    --------
    >>> import pytest
    >>> from streamlit_alb_auth.testing import reset_state
    >>> @pytest.fixture(autouse=True)
    ... def fresh_alb_auth():
    ...     reset_state()
    """
    caches.clear_all()


KeyServerBehaviour = Literal["ok", "error", "garbage", "slow", "redirect", "huge"]


class LocalKeyServer:
    """A real HTTP server on 127.0.0.1 serving ALB public keys (PEM) and user-pool JWKS.

    ``alb_key_url`` is the base for ``AlbJwtVerifier(key_url=...)`` (keys at ``{alb_key_url}/{kid}``);
    ``jwks_url`` serves the JWKS of the pools given. A ``LocalOidcProvider`` whose issuer is a path
    under ``base_url`` (``add_provider``) gets its discovery document and JWKS served under that path.
    ``behaviour`` makes it misbehave for tests, and ``requests`` records every path asked for.
    """

    def __init__(
        self,
        *signers: LocalAlbSigner,
        pools: Iterable[LocalCognitoPool] = (),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._pems: dict[str, bytes] = {signer.kid: signer.public_key_pem for signer in signers}
        self._pools = list(pools)
        self._providers: dict[str, LocalOidcProvider] = {}
        self.behaviour: KeyServerBehaviour = "ok"
        self.slow_seconds = 5.0
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def alb_key_url(self) -> str:
        return f"{self.base_url}/alb-keys"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/jwks.json"

    def add_signer(self, signer: LocalAlbSigner) -> None:
        with self._lock:
            self._pems[signer.kid] = signer.public_key_pem

    def add_pool(self, pool: LocalCognitoPool) -> None:
        """Serve ``pool``'s keys at ``jwks_url`` too."""
        with self._lock:
            self._pools.append(pool)

    def add_provider(self, provider: LocalOidcProvider) -> None:
        """Serve ``provider``'s discovery and JWKS; its issuer must be ``base_url`` plus a path."""
        path = provider.issuer.removeprefix(self.base_url)
        if path == provider.issuer or not path.startswith("/"):
            raise ValueError(f"the provider's issuer must be a path under {self.base_url}")
        with self._lock:
            self._providers[path] = provider

    def fetches(self, kid: str | None = None) -> int:
        """How many key requests arrived (for one ``kid``, or all ALB key requests)."""
        with self._lock:
            prefix = "/alb-keys/" + (kid or "")
            return sum(1 for path in self.requests if path.startswith(prefix))

    def start(self) -> LocalKeyServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalKeyServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _answer(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.requests.append(path)
            behaviour = self.behaviour
        if behaviour == "slow":
            time.sleep(self.slow_seconds)
        if behaviour == "error":
            return 500, b"internal error", {}
        if behaviour == "redirect":
            return 302, b"", {"Location": "http://127.0.0.1:9/elsewhere"}
        if behaviour == "garbage":
            return 200, b"-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n", {}
        if behaviour == "huge":
            return 200, b"A" * (1024 * 1024), {}
        for prefix, provider in self._providers.items():
            if path == f"{prefix}/.well-known/openid-configuration":
                return 200, json.dumps(provider.discovery()).encode(), {"Content-Type": "application/json"}
            if path == f"{prefix}/jwks.json":
                return 200, json.dumps(provider.jwks).encode(), {"Content-Type": "application/json"}
        if path == "/jwks.json":
            with self._lock:
                keys = [key for pool in self._pools for key in pool.jwks["keys"]]
            return 200, json.dumps({"keys": keys}).encode(), {"Content-Type": "application/json"}
        if path.startswith("/alb-keys/"):
            pem = self._pems.get(path.removeprefix("/alb-keys/"))
            if pem is not None:
                return 200, pem, {"Content-Type": "application/x-pem-file"}
        return 404, b"not found", {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, headers = owner._answer(self.path)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def stop_process_group(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Stop a server started with ``start_new_session=True`` (e.g. ``streamlit-alb-auth dev``).

    SIGTERM first, so it shuts down its own children cleanly; SIGKILL to the whole group if it hangs.
    """
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
