"""One OIDC issuer's published metadata: its discovery document and its signing keys (JWKS).

Everything is fetched through one ``fetch.Fetcher`` (pass your own as ``fetcher``, as aws-jwt-verify's
caches take theirs) (HTTPS or loopback HTTP, one deadline, no redirects,
a size cap, a per-minute budget). What is cached, and for how long:
  * the discovery document (``{issuer}/.well-known/openid-configuration``), only when a URL it gives is
    needed, for ``metadata_ttl`` seconds; its ``issuer`` must equal the configured issuer;
  * the JWKS, for ``metadata_ttl`` seconds; a ``kid`` it lacks refetches it, at most once every
    ``refetch_cooldown`` seconds, so a flood of unknown ``kid`` values costs at most one fetch per cooldown;
  * a failed fetch, for ``failure_ttl`` seconds: asking again in that time fails at once, sending nothing.
Pure Python (PyJWT for the keys); no Streamlit import.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from streamlit_alb_auth.errors import AccessTokenError, ConfigurationError, FetchError
from streamlit_alb_auth.fetch import Fetcher, parse_fetch_url

__all__ = ["ASYMMETRIC_ALGORITHMS", "MAX_METADATA_BYTES", "OidcMetadata", "SigningKey", "metadata_fetcher"]

MAX_METADATA_BYTES = 256 * 1024
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)


def metadata_fetcher(timeout: float = 5.0) -> Fetcher:
    """The default fetcher for one issuer's discovery document and JWKS."""
    return Fetcher(
        timeout=timeout, max_bytes=MAX_METADATA_BYTES, max_fetches_per_minute=10, what="OIDC metadata"
    )


class OidcMetadata:
    """Discovery and JWKS for one issuer. Create once per issuer; thread-safe.

    Parameters
    ----------
    issuer : str
        The issuer URL exactly as the tokens carry it in ``iss``.
    jwks_url, userinfo_url : str, optional
        Use these instead of the discovery document's ``jwks_uri`` / ``userinfo_endpoint``.
    fetcher : Fetcher, optional
        What fetches discovery and the JWKS; by default one of its own (``metadata_fetcher``: 256 KiB,
        10 fetches a minute). Share one between issuers to share its budget; pass a stub in tests.

    Examples
    --------
    >>> metadata = OidcMetadata("https://idp.example.com/realms/main")
    >>> key = metadata.signing_key("kid-from-the-token-header")  # doctest: +SKIP
    """

    def __init__(
        self,
        issuer: str,
        *,
        jwks_url: str | None = None,
        userinfo_url: str | None = None,
        metadata_ttl: float = 3600.0,
        refetch_cooldown: float = 30.0,
        failure_ttl: float = 10.0,
        timeout: float = 5.0,
        fetcher: Fetcher | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.discovery_url = parse_fetch_url(
            issuer.rstrip("/") + "/.well-known/openid-configuration", "OIDC issuer"
        ).url
        self._jwks_url = jwks_url and parse_fetch_url(jwks_url, "jwks_url").url
        self._userinfo_url = userinfo_url and parse_fetch_url(userinfo_url, "userinfo_url").url
        self.metadata_ttl = metadata_ttl
        self.refetch_cooldown = refetch_cooldown
        self.failure_ttl = failure_ttl
        self._fetcher = metadata_fetcher(timeout) if fetcher is None else fetcher
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[Any, float]] = {}  # url -> (value, fetched at)
        self._failures: dict[str, tuple[str, float]] = {}  # url -> (message, until)

    @property
    def jwks_url(self) -> str | None:
        """The configured JWKS URL; ``None`` when the discovery document's ``jwks_uri`` is used."""
        return self._jwks_url or None

    def signing_key(self, kid: str | None) -> SigningKey:
        """The issuer's key for ``kid`` (or its only key, when the token names none)."""
        url = self._jwks_url or self._discovered_url("jwks_uri")
        keys = self._cached_json(url, self._parse_jwks)
        if _pick(keys, kid) is None and self._age(url) >= self.refetch_cooldown:
            keys = self._cached_json(url, self._parse_jwks, refresh=True)
        key = _pick(keys, kid)
        if key is None:
            raise AccessTokenError("no usable key in the issuer's JWKS matches the token's kid")
        return key

    def userinfo_url(self) -> str:
        return self._userinfo_url or self._discovered_url("userinfo_endpoint")

    def _discovered_url(self, field: str) -> str:
        document = self._cached_json(self.discovery_url, self._parse_discovery)
        value = document.get(field)
        if not isinstance(value, str):
            raise AccessTokenError(f"the issuer's discovery document has no {field}")
        try:
            return parse_fetch_url(value, f"discovered {field}").url
        except ConfigurationError as exc:
            raise AccessTokenError(str(exc)) from exc

    def _age(self, url: str) -> float:
        with self._lock:
            cached = self._cache.get(url)
        return self._clock() - cached[1] if cached else float("inf")

    def _cached_json(self, url: str, parse: Callable[[Any], Any], *, refresh: bool = False) -> Any:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(url)
            if cached is not None and not refresh and now - cached[1] < self.metadata_ttl:
                return cached[0]
            failure = self._failures.get(url)
            if failure is not None and failure[1] > now:
                raise AccessTokenError(failure[0])
        try:
            value = parse(self._fetcher.get(url, headers={"Accept": "application/json"}).json())
        except FetchError as exc:
            message = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._failures[url] = (message, self._clock() + self.failure_ttl)
            raise AccessTokenError(message) from exc
        with self._lock:
            self._cache[url] = (value, self._clock())
            self._failures.pop(url, None)
        return value

    def _parse_discovery(self, document: Any) -> Mapping[str, Any]:
        if not isinstance(document, dict):
            raise FetchError("the discovery document is not a JSON object")
        if document.get("issuer") != self.issuer:
            raise FetchError("the discovery document names another issuer")
        return document

    @staticmethod
    def _parse_jwks(document: Any) -> tuple[SigningKey, ...]:
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise FetchError("the JWKS has no list of keys")
        usable = []
        for entry in keys[:64]:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            algorithm = _key_algorithm(entry)
            if algorithm not in ASYMMETRIC_ALGORITHMS:
                continue  # a shared-secret ("oct") or unknown key never verifies anything here
            try:
                key = jwt.PyJWK(entry, algorithm).key
            except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                continue  # one broken or unsupported key does not spoil the others
            kid = entry.get("kid")
            usable.append(SigningKey(kid if isinstance(kid, str) else None, algorithm, key))
        return tuple(usable)


@dataclass(frozen=True)
class SigningKey:
    """One usable JWKS entry: tokens it verifies must name exactly its ``algorithm``."""

    kid: str | None
    algorithm: str
    key: Any


def _key_algorithm(entry: Mapping[str, Any]) -> str | None:
    """The key's declared ``alg``, else the one its type implies (RFC 7518's usual pairing)."""
    declared = entry.get("alg")
    if declared is not None:
        return declared if isinstance(declared, str) else None
    if entry.get("kty") == "RSA":
        return "RS256"
    curve = entry.get("crv")
    if entry.get("kty") == "EC" and isinstance(curve, str):  # an odd ``crv`` spoils only its own entry
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(curve)
    return None


def _pick(keys: tuple[SigningKey, ...], kid: str | None) -> SigningKey | None:
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((key for key in keys if key.kid == kid), None)
