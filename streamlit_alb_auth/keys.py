"""The ALB's public keys: where they live, and a bounded, thread-safe, flood-proof cache of them.

Pure Python (the package's fetcher + cryptography); no Streamlit import.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from streamlit_alb_auth.errors import (
    ConfigurationError,
    FetchError,
    FetchRateLimitedError,
    FetchTimeoutError,
    InvalidPublicKeyError,
)
from streamlit_alb_auth.fetch import Fetcher, is_loopback_host, require_fetchable_url

__all__ = ["AlbKeyStore", "is_loopback_host", "regional_key_base_url", "require_fetchable_url"]

GOVCLOUD_REGIONS = frozenset({"us-gov-west-1", "us-gov-east-1"})
KEY_SERVER = "key server"  # the ``what`` of every error the store raises


def regional_key_base_url(region: str, partition: str = "aws") -> str:
    """Where the ALBs of ``region`` publish their public keys (PEM, one per ``kid``)."""
    if region in GOVCLOUD_REGIONS:
        return f"https://s3-{region}.amazonaws.com/aws-elb-public-keys-prod-{region}"
    if partition == "aws-cn":
        return f"https://public-keys.auth.elb.{region}.amazonaws.com.cn"
    return f"https://public-keys.auth.elb.{region}.amazonaws.com"


@dataclass(frozen=True)
class _Failure:
    error_type: type[FetchError]
    message: str
    until: float


class AlbKeyStore:
    """Fetches and caches ALB public keys, one URL (one ``kid``) at a time.

    What is cached, and for how long:
      * a key that fetched and parsed is kept until the store holds ``max_keys`` keys and it is the least
        recently used (then it leaves first). It does not expire: the ALB's key for a ``kid`` never
        changes, so a key once had is served for as long as it is cached, without a request;
      * a failed fetch is remembered for ``failure_ttl`` seconds: asking again in that time fails at once
        with the same error type and sends no request. At most ``max_keys`` failures are remembered.

    Concurrency: at most one fetch per URL is in flight; other threads asking for it wait for that fetch
    (bounded by ``total_timeout``) and share its result.

    Flood control: only a URL not in the cache costs a fetch, and at most ``max_fetches_per_minute``
    fetches start in any sliding 60-second window. Past that, ``FetchRateLimitedError`` is raised
    without a request (and is not remembered as a failure, so the ``kid`` is fetched once the window
    allows). A cached key is never charged to that budget, and a junk ``kid`` never enters the key cache
    (its fetch fails), so a flood of random ``kid`` values can neither evict nor lock out the real key.

    Each fetch goes through ``streamlit_alb_auth.fetch.Fetcher``: HTTPS only (HTTP on loopback), one
    ``total_timeout`` deadline over connect, headers and body (``connect_timeout`` for the connect phase,
    ``read_timeout`` for any one stall), no redirects (a 3xx is an error), at most ``max_key_bytes``.

    Examples
    --------
    >>> store = AlbKeyStore()
    >>> key = store.get("https://public-keys.auth.elb.eu-west-1.amazonaws.com/KID")  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        max_keys: int = 256,
        failure_ttl: float = 10.0,
        max_fetches_per_minute: int = 10,
        connect_timeout: float = 2.0,
        read_timeout: float = 3.0,
        total_timeout: float = 5.0,
        max_key_bytes: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys < 1:
            raise ConfigurationError("max_keys must be >= 1")
        self.max_keys = max_keys
        self.failure_ttl = failure_ttl
        self.max_fetches_per_minute = max_fetches_per_minute
        self.total_timeout = total_timeout
        self._fetcher = Fetcher(
            timeout=total_timeout,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_bytes=max_key_bytes,
            max_fetches_per_minute=max_fetches_per_minute,
            what=KEY_SERVER,
            clock=clock,
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: collections.OrderedDict[str, ec.EllipticCurvePublicKey] = collections.OrderedDict()
        self._failures: dict[str, _Failure] = {}
        self._in_flight: dict[str, threading.Event] = {}

    @property
    def fetch_count(self) -> int:
        """Requests sent to the key server."""
        return self._fetcher.fetch_count

    @property
    def rate_limited_count(self) -> int:
        """Fetches refused by the per-minute budget."""
        return self._fetcher.rate_limited_count

    def __len__(self) -> int:
        return len(self._keys)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._failures.clear()
            self._fetcher.reset_budget()

    def get(self, url: str) -> ec.EllipticCurvePublicKey:
        """The P-256 public key at ``url``, from the cache or fetched once; else a ``FetchError``."""
        while True:
            with self._lock:
                cached = self._keys.get(url)
                if cached is not None:
                    self._keys.move_to_end(url)
                    return cached
                failure = self._failures.get(url)
                if failure is not None:
                    if failure.until > self._clock():
                        raise failure.error_type(failure.message, what=KEY_SERVER)
                    del self._failures[url]
                waiting_for = self._in_flight.get(url)
                if waiting_for is None:
                    done = threading.Event()
                    self._in_flight[url] = done
                    break
            # Another thread is fetching this URL: wait for it, then read what it left in the cache.
            if not waiting_for.wait(self.total_timeout + 1.0):
                raise FetchTimeoutError(
                    "timed out waiting for another fetch of the same key", what=KEY_SERVER
                )

        key: ec.EllipticCurvePublicKey | None = None
        failure_seen: FetchError | None = None
        try:
            key = self._fetch(url)
            return key
        except FetchRateLimitedError:
            raise  # not the key's fault: fetch it once the window allows
        except FetchError as exc:
            failure_seen = exc
            raise
        finally:
            # Publish the outcome before waking the waiters, so they find it instead of refetching.
            with self._lock:
                if key is not None:
                    self._remember_key(url, key)
                elif failure_seen is not None:
                    self._remember_failure(url, failure_seen)
                self._in_flight.pop(url, None)
            done.set()

    def _remember_key(self, url: str, key: ec.EllipticCurvePublicKey) -> None:
        self._keys[url] = key
        self._keys.move_to_end(url)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    def _remember_failure(self, url: str, failure: FetchError) -> None:
        self._failures[url] = _Failure(type(failure), str(failure), self._clock() + self.failure_ttl)
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]

    def _fetch(self, url: str) -> ec.EllipticCurvePublicKey:
        response = self._fetcher.get(url, headers={"Accept": "application/x-pem-file, text/plain, */*"})
        return _parse_p256_pem(response.body, response.target.where)


def _parse_p256_pem(body: bytes, url: str) -> ec.EllipticCurvePublicKey:
    try:
        key = load_pem_public_key(body)
    except (ValueError, TypeError) as exc:
        raise InvalidPublicKeyError(
            f"key server sent something that is not a PEM public key for {url}", what=KEY_SERVER
        ) from exc
    except Exception as exc:  # cryptography's UnsupportedAlgorithm and kin: still not a key we accept
        raise InvalidPublicKeyError(f"key server sent an unsupported key for {url}", what=KEY_SERVER) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidPublicKeyError(f"key at {url} is not a P-256 (ES256) public key", what=KEY_SERVER)
    return key
