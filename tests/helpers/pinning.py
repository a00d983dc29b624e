"""A settable clock, raw ALB tokens and a scripted server, for tests that pin one check each.

``LocalKeyServer`` (in the package) serves well-formed keys with a ``Content-Length``; the pins need
answers a real server may also send: chunked bodies without a length, gzip encoding, bodies that never end.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from streamlit_alb_auth.testing import LocalAlbSigner, padded_b64url


def non_loopback_address() -> str | None:
    """This machine's own address on a real interface, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


class FakeClock:
    """A clock the test moves by hand: ``clock()`` reads it, ``clock.now = ...`` or ``+=`` sets it."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def json_segment(value: Mapping[str, Any]) -> str:
    return padded_b64url(json.dumps(value, separators=(",", ":")).encode())


def alb_token(signer: LocalAlbSigner, header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    """An ALB-format token with exactly this header and payload (no defaults added), signed by ``signer``."""
    signing_input = f"{json_segment(header)}.{json_segment(payload)}"
    return f"{signing_input}.{signer.signature_segment(signing_input)}"


def alb_header(signer: LocalAlbSigner, exp: float, **extra: Any) -> dict[str, Any]:
    return {
        "typ": "JWT",
        "kid": signer.kid,
        "alg": "ES256",
        "iss": signer.issuer,
        "client": signer.client_id,
        "signer": signer.alb_arn,
        "exp": exp,
        **extra,
    }


@dataclass
class Reply:
    """One scripted answer: ``chunks`` sent ``repeat`` times, framed by ``Content-Length`` (``length``),
    by ``Transfer-Encoding: chunked`` (``chunked``), or by closing the connection (neither)."""

    status: int = 200
    chunks: list[bytes] = field(default_factory=list)
    repeat: int = 1
    length: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    gzip: bool = False
    delay: float = 0.0
    pause: float = 0.0

    @classmethod
    def body(cls, data: bytes, **kwargs: object) -> Reply:
        return cls(chunks=[data], **kwargs)  # type: ignore[arg-type]


class ScriptedServer:
    """Serves ``routes[path]`` (a ``Reply``) on ``host``; anything else is a 404. Records every path."""

    def __init__(
        self,
        routes: dict[str, Reply] | None = None,
        *,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.routes: dict[str, Reply] = dict(routes or {})
        self.requests: list[str] = []
        self.request_headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests.count(path)

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply_for(self, path: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(path)
            self.request_headers.append(headers)
            return self.routes.get(path) or Reply.body(b"not found", status=404)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                reply = owner._reply_for(self.path, {k.lower(): v for k, v in self.headers.items()})
                if reply.delay:
                    time.sleep(reply.delay)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)  # the client may give up, as it should on a cap or a deadline

            def _send(self, reply: Reply) -> None:
                chunks: Iterable[bytes] = itertools.chain.from_iterable(
                    itertools.repeat(reply.chunks, reply.repeat)
                )
                if reply.gzip:
                    chunks = [gzip.compress(b"".join(chunks))]
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.gzip:
                    self.send_header("Content-Encoding", "gzip")
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for chunk in chunks:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                        time.sleep(reply.pause)
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Connection", "close")
                if not reply.length:
                    self.end_headers()
                    for chunk in chunks:
                        self.wfile.write(chunk)
                    return
                body = b"".join(chunks)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
