"""Test helpers for apps that use this package: local keys, ALB-shaped headers, a loopback key server.

Nothing here talks to AWS. Use them in your own tests::

    from streamlit_alb_auth.testing import LocalAlbSigner, LocalKeyServer

    signer = LocalAlbSigner()
    with LocalKeyServer(signer) as keys:
        verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=keys.alb_key_url)
        headers = signer.headers({"sub": "user-1", "email": "a@example.com"})
        assert verifier.verify(headers["x-amzn-oidc-data"])["email"] == "a@example.com"
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from streamlit_alb_auth.cognito import user_pool_issuer
from streamlit_alb_auth.localidp import DEFAULT_TEST_CLIENT_ID, LocalOidcProvider

DEFAULT_TEST_REGION = "us-east-1"
DEFAULT_TEST_ALB_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/local-alb/0123456789abcdef"
)
DEFAULT_TEST_USER_POOL_ID = "us-east-1_LocalPool"
DEFAULT_TEST_ISSUER = f"https://cognito-idp.{DEFAULT_TEST_REGION}.amazonaws.com/{DEFAULT_TEST_USER_POOL_ID}"


def padded_b64url(data: bytes) -> str:
    """base64url *with* ``=`` padding, as the ALB writes every segment."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def _json_segment(value: Mapping[str, Any]) -> str:
    return padded_b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


class LocalAlbSigner:
    """An ES256 key pair standing in for one ALB: mints ``x-amzn-oidc-data`` tokens like the real one."""

    def __init__(
        self,
        *,
        alb_arn: str = DEFAULT_TEST_ALB_ARN,
        client_id: str = DEFAULT_TEST_CLIENT_ID,
        issuer: str = DEFAULT_TEST_ISSUER,
        kid: str | None = None,
        private_key: ec.EllipticCurvePrivateKey | None = None,
    ) -> None:
        self.alb_arn = alb_arn
        self.client_id = client_id
        self.issuer = issuer
        self.kid = kid or str(uuid.uuid4())
        self.private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        self.public_key_pem: bytes = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        expires_in: float = 120,
        header: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> str:
        """A padded ES256 token for ``claims``; ``header`` entries override (``None`` deletes) the ALB's."""
        issued = time.time() if now is None else now
        token_header: dict[str, Any] = {
            "typ": "JWT",
            "kid": self.kid,
            "alg": "ES256",
            "iss": self.issuer,
            "client": self.client_id,
            "signer": self.alb_arn,
            "exp": int(issued + expires_in),
        }
        for name, value in (header or {}).items():
            if value is None:
                token_header.pop(name, None)
            else:
                token_header[name] = value
        payload = {"exp": int(issued + expires_in), "iss": self.issuer, **claims}
        signing_input = f"{_json_segment(token_header)}.{_json_segment(payload)}"
        return f"{signing_input}.{self.signature_segment(signing_input)}"

    def signature_segment(self, signing_input: str) -> str:
        """Raw r||s (64 bytes), padded base64url, over the padded text: the ALB's signature format."""
        der = self.private_key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return padded_b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def headers(
        self,
        claims: Mapping[str, Any],
        *,
        access_token: str | None = None,
        identity: str | None = None,
        expires_in: float = 120,
    ) -> dict[str, str]:
        """The three headers the ALB adds to a request from a signed-in user."""
        return {
            "x-amzn-oidc-data": self.sign(claims, expires_in=expires_in),
            "x-amzn-oidc-identity": identity if identity is not None else str(claims.get("sub", "")),
            "x-amzn-oidc-accesstoken": access_token or "",
        }


class LocalCognitoPool(LocalOidcProvider):
    """The Cognito preset of ``LocalOidcProvider``: a user pool's issuer, ``cognito:groups``, and
    Cognito's access-token shape (``token_use`` = access, ``client_id``, ``username``; no ``aud``)."""

    def __init__(
        self,
        *,
        user_pool_id: str = DEFAULT_TEST_USER_POOL_ID,
        client_id: str = DEFAULT_TEST_CLIENT_ID,
        kid: str | None = None,
        updated_issuer: bool = False,
    ) -> None:
        self.user_pool_id = user_pool_id
        self.region = user_pool_id.split("_", 1)[0]
        issuer = user_pool_issuer(user_pool_id, updated=updated_issuer)  # the pool's issuer format
        super().__init__(issuer=issuer, client_id=client_id, groups_claim="cognito:groups", kid=kid)

    def standard_claims(self, sub: str, username: str, now: int, expires_in: float) -> dict[str, Any]:
        return {
            "sub": sub,
            "iss": self.issuer,
            "client_id": self.client_id,
            "token_use": "access",
            "scope": "openid email profile",
            "auth_time": now,
            "iat": now,
            "exp": int(now + expires_in),
            "jti": str(uuid.uuid4()),
            "username": username,
        }


KeyServerBehaviour = Literal["ok", "error", "garbage", "slow", "redirect", "huge"]


class LocalKeyServer:
    """A real HTTP server on 127.0.0.1 serving ALB public keys (PEM) and user-pool JWKS.

    ``alb_key_url`` is the base for ``AlbJwtVerifier(key_url=...)`` (keys at ``{alb_key_url}/{kid}``);
    ``jwks_url`` serves the JWKS of the pools given. ``behaviour`` makes it misbehave for tests, and
    ``requests`` records every path asked for.
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
        if path == "/jwks.json":
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
