"""A raw TCP server on loopback for hostile-server tests: each connection runs a handler you write."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable


class RawServer:
    """Accepts connections on 127.0.0.1 (or ``host``) and runs ``handler(conn)`` for each in a thread.

    ``connections`` counts accepted connections; ``port`` is the bound port.
    """

    def __init__(
        self, handler: Callable[[socket.socket], None], host: str = "127.0.0.1", *, raw: bool = False
    ) -> None:
        self._handler = handler
        self._raw = raw  # the handler reads the request itself (a TLS server wraps the socket first)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(30)
                if not self._raw:
                    read_request(conn)
                self._handler(conn)
        except OSError:
            pass  # the client hung up: that is what most of these tests provoke

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._listener.close()


def read_request(conn: socket.socket) -> bytes:
    """Read up to the end of the request headers (GET requests have no body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def drip(conn: socket.socket, data: bytes, every: float) -> None:
    """Send ``data`` one byte at a time, ``every`` seconds apart (until the client hangs up)."""
    import time

    for index in range(len(data)):
        conn.sendall(data[index : index + 1])
        time.sleep(every)
