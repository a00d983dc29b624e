"""The package's one outbound HTTP fetcher: ALB keys, JWKS, OIDC discovery and userinfo all go through it.

Every fetch is a ``GET`` that:
  * goes only to an ``https://`` URL (certificate and host name checked), or ``http://`` on a loopback
    address for local development and tests; the URL is read by ``parse_fetch_url``, the same parser whose
    host and port the connection then uses, so a check and a fetch can never disagree about the host;
  * ends at one wall-clock deadline (``timeout``) covering connect, TLS, the response headers and the
    body: the socket timeout is re-armed to the time left before every read, so a server dripping one
    byte a second is cut off at the deadline (name resolution is the system resolver's, outside it);
  * follows no redirect (a 3xx is ``FetchResponseError``);
  * reads at most ``max_bytes`` of body (after gzip decoding), refusing a larger ``Content-Length`` before
    reading and a longer stream while reading; ``chunked`` and ``gzip`` bodies are decoded within the cap;
  * counts against a sliding 60-second window of ``max_fetches_per_minute`` (past it:
    ``FetchRateLimitedError``, and nothing is sent).
Standard library only; no Streamlit import.
"""

from __future__ import annotations

import collections
import http.client
import io
import json
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from streamlit_alb_auth.errors import (
    ConfigurationError,
    FetchError,
    FetchRateLimitedError,
    FetchResponseError,
    FetchTimeoutError,
    FetchTooLargeError,
    FetchUnavailableError,
)
from streamlit_alb_auth.urls import FetchTarget, is_loopback_host, parse_fetch_url, require_fetchable_url

__all__ = [
    "FetchResponse",
    "FetchTarget",
    "Fetcher",
    "is_loopback_host",
    "parse_fetch_url",
    "require_fetchable_url",
]

_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
_HEADER_ALLOWANCE = 64 * 1024  # status line and headers, on top of the body cap


@dataclass(frozen=True)
class FetchResponse:
    target: FetchTarget
    headers: Mapping[str, str]
    body: bytes
    status: int = 200
    # Every header line in order: ``headers`` keeps one value a name, a response may set many cookies.
    header_items: tuple[tuple[str, str], ...] = ()

    def json(self) -> Any:
        """The body as JSON; ``FetchResponseError`` if it is not."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError) as exc:
            raise FetchResponseError(f"{self.target.where} did not answer with JSON") from exc


class Fetcher:
    """Bounded GETs (see the module docstring); one per purpose, each with its own budget.

    Parameters
    ----------
    timeout : float
        The deadline, in seconds, for the whole fetch (connect, TLS, headers, body).
    connect_timeout, read_timeout : float, optional
        Tighter limits for the connect phase and for any one stall while reading, within ``timeout``.
    max_bytes : int
        The body cap (decoded).
    max_fetches_per_minute : int
        Fetches allowed to start in any sliding 60-second window.
    what : str
        What is being fetched, for error messages ("key server", "JWKS", "userinfo").

    Examples
    --------
    >>> fetcher = Fetcher(timeout=5, max_bytes=64 * 1024, what="JWKS")
    >>> keys = fetcher.get("https://idp.example.com/jwks.json").json()  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        max_bytes: int = 64 * 1024,
        max_fetches_per_minute: int = 10,
        what: str = "server",
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_bytes < 1 or max_fetches_per_minute < 1 or not timeout > 0:
            raise ConfigurationError("timeout, max_bytes and max_fetches_per_minute must be positive")
        self.timeout = float(timeout)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_bytes = max_bytes
        self.max_fetches_per_minute = max_fetches_per_minute
        self.what = what
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._clock = clock
        self._lock = threading.Lock()
        self._window: collections.deque[float] = collections.deque()
        self.fetch_count = 0
        self.rate_limited_count = 0

    def reset_budget(self) -> None:
        with self._lock:
            self._window.clear()

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, any_status: bool = False
    ) -> FetchResponse:
        """GET ``url`` within the bounds; raise the ``FetchError`` subclass that says what went wrong.

        ``any_status=True`` returns a non-200 answer (a redirect too, still not followed) instead of
        raising, for callers that inspect the answer itself (``streamlit-alb-auth doctor``). The error's
        ``what`` is this fetcher's.
        """
        try:
            return self._get(url, headers, any_status)
        except FetchError as exc:
            exc.what = exc.what or self.what
            raise

    def _get(self, url: str, headers: Mapping[str, str] | None, any_status: bool) -> FetchResponse:
        target = parse_fetch_url(url, f"{self.what} URL")
        extra = dict(headers or {})
        if not all(_HEADER_VALUE.fullmatch(value) for value in extra.values()):
            raise FetchError(f"refusing to send a header with control or non-ASCII characters to {self.what}")
        self._take_slot()
        deadline = time.monotonic() + self.timeout
        try:
            return self._exchange(target, extra, deadline, any_status)
        except FetchError:
            raise
        except TimeoutError as exc:
            raise FetchTimeoutError(
                f"{self.what} at {target.where} did not answer within {self.timeout:g} s"
            ) from exc
        except http.client.HTTPException as exc:
            raise FetchResponseError(
                f"{self.what} at {target.where} sent broken HTTP ({type(exc).__name__})"
            ) from exc
        except (OSError, ValueError) as exc:
            raise FetchUnavailableError(
                f"{self.what} at {target.where} unreachable ({type(exc).__name__})"
            ) from exc

    def _take_slot(self) -> None:
        with self._lock:
            now = self._clock()
            while self._window and self._window[0] <= now - 60.0:
                self._window.popleft()
            if len(self._window) >= self.max_fetches_per_minute:
                self.rate_limited_count += 1
                raise FetchRateLimitedError(
                    f"{self.max_fetches_per_minute} fetches from {self.what} in the last minute;"
                    " not fetching another yet"
                )
            self._window.append(now)
            self.fetch_count += 1

    def _exchange(
        self, target: FetchTarget, headers: dict[str, str], deadline: float, any_status: bool = False
    ) -> FetchResponse:
        sock = self._connect(target, deadline)
        try:
            sock.settimeout(_time_left(deadline, self.read_timeout))
            sock.sendall(_request_bytes(target, headers))
            reader = _DeadlineReader(
                sock, deadline, self.read_timeout, self.max_bytes * 2 + _HEADER_ALLOWANCE
            )
            response = http.client.HTTPResponse(_ReaderSocket(reader), method="GET")  # type: ignore[arg-type]
            response.begin()
            if response.status != 200 and not any_status:
                kind = " (a redirect, not followed)" if 300 <= response.status < 400 else ""
                raise FetchResponseError(
                    f"{self.what} at {target.where} answered HTTP {response.status}{kind}"
                )
            body = self._read_body(response, target)
            items = tuple((name.lower(), value) for name, value in response.getheaders())
            return FetchResponse(target, dict(items), body, response.status, items)
        finally:
            sock.close()

    def _connect(self, target: FetchTarget, deadline: float) -> socket.socket:
        addresses = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        if target.scheme == "http":
            # The name said loopback; the addresses must agree (a hosts file could say otherwise).
            addresses = [a for a in addresses if is_loopback_host(str(a[4][0]))]
        failure: Exception = FetchUnavailableError(f"{self.what} at {target.where} has no usable address")
        for family, kind, proto, _name, address in addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(_time_left(deadline, self.connect_timeout))
                sock.connect(address)
                if target.scheme == "https":
                    sock.settimeout(_time_left(deadline, self.connect_timeout))
                    sock = self._ssl_context.wrap_socket(sock, server_hostname=target.host)
                return sock
            except OSError as exc:
                sock.close()
                failure = exc
        raise failure

    def _read_body(self, response: http.client.HTTPResponse, target: FetchTarget) -> bytes:
        declared = (response.getheader("Content-Length") or "").strip()
        if declared and not (declared.isascii() and declared.isdigit()):  # "²", "-1", "5, 9"
            raise FetchResponseError(f"{self.what} at {target.where} sent a malformed Content-Length")
        if declared and int(declared) > self.max_bytes:
            raise FetchTooLargeError(f"{self.what} at {target.where} declares {declared} bytes, over the cap")
        encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise FetchResponseError(f"{self.what} at {target.where} sent an unsupported Content-Encoding")
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
        body = bytearray()
        while chunk := response.read1(16 * 1024):
            if decoder is not None:
                try:
                    chunk = decoder.decompress(chunk, self.max_bytes + 1 - len(body))
                except zlib.error as exc:
                    raise FetchResponseError(f"{self.what} at {target.where} sent broken gzip") from exc
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchTooLargeError(f"{self.what} at {target.where} sent over {self.max_bytes} bytes")
        if response.length:  # read1 ends quietly when the connection closes before Content-Length
            raise FetchResponseError(f"{self.what} at {target.where} closed the connection mid-body")
        if decoder is not None and not decoder.eof:
            raise FetchResponseError(f"{self.what} at {target.where} sent truncated gzip")
        return bytes(body)


def _time_left(deadline: float, phase_limit: float | None = None) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("fetch deadline passed")
    return left if phase_limit is None else min(left, phase_limit)


def _request_bytes(target: FetchTarget, headers: Mapping[str, str]) -> bytes:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    lines = [
        f"GET {target.target} HTTP/1.1",
        f"Host: {host}" if target.port == default_port else f"Host: {host}:{target.port}",
        "Accept-Encoding: gzip",
        "Connection: close",
        "User-Agent: streamlit-alb-auth",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class _DeadlineReader(io.RawIOBase):
    """Socket reads with the timeout re-armed to the time left before each one, and a byte cap."""

    def __init__(self, sock: socket.socket, deadline: float, stall: float | None, cap: int) -> None:
        self._sock = sock
        self._deadline = deadline
        self._stall = stall
        self._left = cap

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_time_left(self._deadline, self._stall))
        count = self._sock.recv_into(buffer)
        self._left -= count
        if self._left < 0:
            raise FetchTooLargeError("answer is over the size cap")
        return count


class _ReaderSocket:
    """What ``http.client.HTTPResponse`` needs of a socket: a ``makefile`` over our bounded reader."""

    def __init__(self, reader: _DeadlineReader) -> None:
        self._reader = reader

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self._reader)
