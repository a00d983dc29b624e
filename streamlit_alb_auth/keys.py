"""The ALB's public keys: where they live, and a bounded, thread-safe, flood-proof cache of them.

Pure Python (requests + cryptography); no Streamlit import.
"""

from __future__ import annotations

import collections
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from streamlit_alb_auth.errors import (
    ConfigurationError,
    InvalidPublicKeyError,
    KeyFetchError,
    KeyFetchRateLimitedError,
    KeyFetchTimeoutError,
    KeyServerResponseError,
    KeyServerUnavailableError,
)

GOVCLOUD_REGIONS = frozenset({"us-gov-west-1", "us-gov-east-1"})


def regional_key_base_url(region: str, partition: str = "aws") -> str:
    """Where the ALBs of ``region`` publish their public keys (PEM, one per ``kid``)."""
    if region in GOVCLOUD_REGIONS:
        return f"https://s3-{region}.amazonaws.com/aws-elb-public-keys-prod-{region}"
    if partition == "aws-cn":
        return f"https://public-keys.auth.elb.{region}.amazonaws.com.cn"
    return f"https://public-keys.auth.elb.{region}.amazonaws.com"


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_fetchable_url(url: str, what: str = "key URL") -> str:
    """Refuse anything but HTTPS, except plain HTTP on loopback for local development and tests."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ConfigurationError(f"{what} {url!r} is not a URL") from exc
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback_host(host):
        return url
    raise ConfigurationError(f"{what} {url!r} must be https:// (plain http:// is allowed only on loopback)")


@dataclass(frozen=True)
class _Failure:
    error_type: type[KeyFetchError]
    message: str
    until: float


class AlbKeyStore:
    """Fetches and caches ALB public keys, one URL (one ``kid``) at a time.

    What is cached, and for how long:
      * a key that fetched and parsed is kept for ``ttl`` seconds; at most ``max_keys`` keys are kept,
        the least recently used leaving first;
      * a failed fetch is remembered for ``failure_ttl`` seconds: asking again in that time fails at once
        with the same error type and sends no request.

    Concurrency: at most one fetch per URL is in flight; other threads asking for it wait for that fetch
    (bounded by the timeouts) and share its result.

    Flood control: an unknown ``kid`` costs a request, so at most ``max_fetches_per_minute`` fetches start
    in any sliding 60-second window. Past that, ``KeyFetchRateLimitedError`` is raised without a request
    (and is not remembered as a failure, so the ``kid`` is fetched once the window allows). Keys already
    cached are unaffected, so a flood of random ``kid`` values cannot lock out users of the real key.

    Each fetch: GET with ``connect_timeout``/``read_timeout``, the whole body within ``total_timeout``,
    no redirects (a 3xx is an error), HTTPS only (HTTP on loopback allowed), at most ``max_key_bytes``.
    """

    def __init__(
        self,
        *,
        ttl: float = 3600.0,
        max_keys: int = 256,
        failure_ttl: float = 10.0,
        max_fetches_per_minute: int = 10,
        connect_timeout: float = 2.0,
        read_timeout: float = 3.0,
        total_timeout: float = 5.0,
        max_key_bytes: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys < 1 or max_fetches_per_minute < 1 or max_key_bytes < 1:
            raise ConfigurationError("max_keys, max_fetches_per_minute and max_key_bytes must be >= 1")
        self.ttl = ttl
        self.max_keys = max_keys
        self.failure_ttl = failure_ttl
        self.max_fetches_per_minute = max_fetches_per_minute
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_key_bytes = max_key_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: collections.OrderedDict[str, tuple[ec.EllipticCurvePublicKey, float]] = (
            collections.OrderedDict()
        )
        self._failures: dict[str, _Failure] = {}
        self._in_flight: dict[str, threading.Event] = {}
        self._recent_fetches: collections.deque[float] = collections.deque()
        self._session = requests.Session()
        self.fetch_count = 0
        self.rate_limited_count = 0

    def __len__(self) -> int:
        return len(self._keys)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._failures.clear()
            self._recent_fetches.clear()

    def get(self, url: str) -> ec.EllipticCurvePublicKey:
        """The P-256 public key at ``url``, from the cache or fetched once; raises ``KeyFetchError``."""
        while True:
            with self._lock:
                now = self._clock()
                cached = self._keys.get(url)
                if cached is not None and cached[1] > now:
                    self._keys.move_to_end(url)
                    return cached[0]
                failure = self._failures.get(url)
                if failure is not None:
                    if failure.until > now:
                        raise failure.error_type(failure.message)
                    del self._failures[url]
                waiting_for = self._in_flight.get(url)
                if waiting_for is None:
                    self._take_fetch_slot(now)
                    done = threading.Event()
                    self._in_flight[url] = done
                    self.fetch_count += 1
                    break
            # Another thread is fetching this URL: wait for it, then read what it left in the cache.
            if not waiting_for.wait(self.connect_timeout + self.total_timeout + 1.0):
                raise KeyFetchTimeoutError(f"timed out waiting for another fetch of {url}")

        key: ec.EllipticCurvePublicKey | None = None
        failure: KeyFetchError | None = None
        try:
            key = self._fetch(url)
            return key
        except KeyFetchError as exc:
            failure = exc
            raise
        finally:
            # Publish the outcome before waking the waiters, so they find it instead of refetching.
            with self._lock:
                if key is not None:
                    self._remember_key(url, key)
                elif failure is not None:
                    self._remember_failure(url, failure)
                self._in_flight.pop(url, None)
            done.set()

    def _remember_key(self, url: str, key: ec.EllipticCurvePublicKey) -> None:
        self._keys[url] = (key, self._clock() + self.ttl)
        self._keys.move_to_end(url)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    def _remember_failure(self, url: str, failure: KeyFetchError) -> None:
        self._failures[url] = _Failure(type(failure), str(failure), self._clock() + self.failure_ttl)
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]

    def _take_fetch_slot(self, now: float) -> None:
        """Sliding-window limit on fetches; called with the lock held."""
        window = self._recent_fetches
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= self.max_fetches_per_minute:
            self.rate_limited_count += 1
            raise KeyFetchRateLimitedError(
                f"more than {self.max_fetches_per_minute} unknown kids fetched in the last minute;"
                " not fetching another"
            )
        window.append(now)

    def _fetch(self, url: str) -> ec.EllipticCurvePublicKey:
        require_fetchable_url(url)
        try:
            with self._session.get(
                url,
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/x-pem-file, text/plain, */*"},
            ) as response:
                if response.status_code != 200:
                    raise KeyServerResponseError(f"key server answered HTTP {response.status_code} for {url}")
                body = self._read_capped(response, url)
        except requests.Timeout as exc:
            raise KeyFetchTimeoutError(f"key server did not answer in time for {url}") from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise KeyServerUnavailableError(
                f"key server unreachable for {url}: {type(exc).__name__}"
            ) from exc
        return _parse_p256_pem(body, url)

    def _read_capped(self, response: requests.Response, url: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_key_bytes:
            raise InvalidPublicKeyError(f"key at {url} is {declared} bytes, over {self.max_key_bytes}")
        deadline = self._clock() + self.total_timeout
        body = bytearray()
        try:
            while True:
                # read1 returns whatever has arrived, so a trickling server meets the deadline.
                chunk = response.raw.read1(1024, decode_content=True)
                if not chunk:
                    return bytes(body)
                body += chunk
                if len(body) > self.max_key_bytes:
                    raise InvalidPublicKeyError(f"key at {url} is over {self.max_key_bytes} bytes")
                if self._clock() > deadline:
                    raise KeyFetchTimeoutError(f"key server too slow sending {url}")
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise KeyFetchTimeoutError(f"key server stalled sending {url}") from exc


def _parse_p256_pem(body: bytes, url: str) -> ec.EllipticCurvePublicKey:
    try:
        key = load_pem_public_key(body)
    except (ValueError, TypeError) as exc:
        raise InvalidPublicKeyError(
            f"key server sent something that is not a PEM public key for {url}"
        ) from exc
    except Exception as exc:  # cryptography's UnsupportedAlgorithm and kin: still not a key we accept
        raise InvalidPublicKeyError(f"key server sent an unsupported key for {url}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidPublicKeyError(f"key at {url} is not a P-256 (ES256) public key")
    return key
