"""Verify the ALB's ``x-amzn-oidc-data`` token. Pure Python: no Streamlit import.

Order is the security design: everything that costs nothing (size, strict syntax, ``alg``, ``kid``,
``signer``, ``client``, ``iss``) is checked before any network fetch, so a forged token from someone
else's ALB never makes us fetch a key; then the signature; then the times.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from streamlit_alb_auth.alb_arn import AlbArn
from streamlit_alb_auth.errors import (
    ClientMismatchError,
    ConfigurationError,
    InvalidKidError,
    InvalidSignatureError,
    IssuerMismatchError,
    MalformedTokenError,
    SignerNotAllowedError,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenTooLargeError,
    UnsupportedAlgorithmError,
)
from streamlit_alb_auth.fetch import require_fetchable_url
from streamlit_alb_auth.keys import AlbKeyStore, regional_key_base_url

KID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PADDED_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")

DEFAULT_MAX_TOKEN_LENGTH = 16 * 1024
DEFAULT_LEEWAY_SECONDS = 30.0
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def decode_padded_segment(segment: str, what: str) -> bytes:
    """Decode one segment the way the ALB writes it: base64url *with* ``=`` padding, canonical only."""
    if len(segment) % 4 or not _PADDED_BASE64URL.fullmatch(segment):
        raise MalformedTokenError(f"token {what} is not padded base64url")
    try:
        raw = base64.urlsafe_b64decode(segment)
    except (binascii.Error, ValueError) as exc:
        raise MalformedTokenError(f"token {what} is not padded base64url") from exc
    # Re-encoding rejects over-padding and stray bits: one token, one spelling.
    if base64.urlsafe_b64encode(raw).decode("ascii") != segment:
        raise MalformedTokenError(f"token {what} is not canonical padded base64url")
    return raw


def _decode_json_object(segment: str, what: str) -> dict[str, Any]:
    raw = decode_padded_segment(segment, what)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise MalformedTokenError(f"token {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedTokenError(f"token {what} is not a JSON object")
    return value


def _numeric_claim(claims: Mapping[str, Any], name: str, where: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise MalformedTokenError(f"token {where} has no {name!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedTokenError(f"token {where} {name!r} is not a number")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        raise MalformedTokenError(f"token {where} {name!r} is not a finite number")
    return seconds


@dataclass(frozen=True)
class _Verified:
    header: dict[str, Any]
    claims: dict[str, Any]
    expires_at: float
    not_before: float | None


class AlbJwtVerifier:
    """Verifies ``x-amzn-oidc-data`` tokens from the configured ALB(s). Create once, call ``verify`` often.

    Parameters
    ----------
    alb_arn : str or list of str
        The ARN(s) of the load balancer(s) allowed to sign. Required: every ALB in a region shares one
        key service, so without this pin any ALB's token would verify (the "ALBeast" attack).
    client_id : str, optional
        When given, the token header's ``client`` must equal it.
    issuer : str or iterable of str, optional
        When given, the token header's ``iss`` must be it (or one of them: a Cognito pool's two formats).
    key_url : str, optional
        Base URL of the key service (keys are fetched at ``{key_url}/{kid}``); defaults to the regional
        ALB key service of each ARN. Must be HTTPS, or HTTP on loopback.
    leeway : float
        Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
    key_store : AlbKeyStore, optional
        Share one store between verifiers; by default each verifier has its own.
    max_token_length, verified_cache_size : int
        Tokens longer than the cap are rejected unparsed. Up to ``verified_cache_size`` verified tokens
        are remembered so a repeat costs a dictionary lookup and the time checks, not the cryptography.

    Examples
    --------
    >>> verifier = AlbJwtVerifier(alb_arn="arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
    ...                           "loadbalancer/app/my-alb/0123456789abcdef")
    >>> claims = verifier.verify(headers["x-amzn-oidc-data"])  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        alb_arn: str | Iterable[str],
        client_id: str | None = None,
        issuer: str | Iterable[str] | None = None,
        key_url: str | None = None,
        leeway: float = DEFAULT_LEEWAY_SECONDS,
        key_store: AlbKeyStore | None = None,
        max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH,
        verified_cache_size: int = 512,
        clock: Callable[[], float] = time.time,
    ) -> None:
        arns = [alb_arn] if isinstance(alb_arn, str) else list(alb_arn or ())
        if not arns:
            raise ConfigurationError("alb_arn is required: the ARN of the ALB allowed to sign tokens")
        parsed = [AlbArn.parse(arn) for arn in arns]
        base_url = require_fetchable_url(key_url.rstrip("/")) if key_url else None
        self._key_base_by_signer = {
            alb.arn: base_url or regional_key_base_url(alb.region, alb.partition) for alb in parsed
        }
        self.client_id = client_id
        self.issuer = issuer
        self._issuers = None if issuer is None else frozenset([issuer] if isinstance(issuer, str) else issuer)
        self.leeway = float(leeway)
        self.key_store = key_store if key_store is not None else AlbKeyStore()
        self.max_token_length = max_token_length
        self._clock = clock
        self._verified: collections.OrderedDict[str, _Verified] = collections.OrderedDict()
        self._verified_cache_size = verified_cache_size
        self._verified_lock = threading.Lock()
        self.full_checks = 0  # tokens that cost a signature check (a cache hit checks only the times)

    @property
    def allowed_signers(self) -> tuple[str, ...]:
        return tuple(self._key_base_by_signer)

    def verify(self, token: str) -> dict[str, Any]:
        """Return the token's payload claims, or raise the ``AlbAuthError`` subclass naming what failed."""
        return self.verify_with_header(token)[1]

    def verify_with_header(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(header, claims)`` of a token that verifies (the header carries ``iss``, ``client``, ...)."""
        if not isinstance(token, str):
            raise MalformedTokenError("token is not a string")
        if len(token) > self.max_token_length:
            raise TokenTooLargeError(f"token is over {self.max_token_length} characters")
        with self._verified_lock:
            known = self._verified.get(token)
            if known is not None:
                self._verified.move_to_end(token)
        if known is not None:
            self._check_times(known.expires_at, known.not_before)
            return dict(known.header), dict(known.claims)

        verified = self._verify_uncached(token)
        with self._verified_lock:
            self.full_checks += 1
            self._verified[token] = verified
            while len(self._verified) > self._verified_cache_size:
                self._verified.popitem(last=False)
        return dict(verified.header), dict(verified.claims)

    def _verify_uncached(self, token: str) -> _Verified:
        if not token.isascii():
            raise MalformedTokenError("token is not ASCII")
        segments = token.split(".")
        if len(segments) != 3:
            raise MalformedTokenError("token does not have three segments")
        header_segment, payload_segment, signature_segment = segments

        header = _decode_json_object(header_segment, "header")
        alg = header.get("alg")
        if alg != "ES256":
            raise UnsupportedAlgorithmError(f"token alg {alg!r} is not ES256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
            raise InvalidKidError("token kid is not a UUID")
        signer = header.get("signer")
        key_base = self._key_base_by_signer.get(signer) if isinstance(signer, str) else None
        if key_base is None:
            raise SignerNotAllowedError(f"token signer {signer!r} is not an allowed ALB")
        if self.client_id is not None and header.get("client") != self.client_id:
            raise ClientMismatchError(f"token client {header.get('client')!r} is not the configured client")
        if self._issuers is not None and not _is_one_of(header.get("iss"), self._issuers):
            raise IssuerMismatchError(f"token iss {header.get('iss')!r} is not the configured issuer")
        header_exp = _numeric_claim(header, "exp", "header", required=True)

        claims = _decode_json_object(payload_segment, "payload")
        payload_exp = _numeric_claim(claims, "exp", "payload", required=False)
        not_before = _latest(
            _numeric_claim(claims, "nbf", "payload", required=False),
            _numeric_claim(claims, "iat", "payload", required=False),
        )
        signature = decode_padded_segment(signature_segment, "signature")
        if len(signature) != 64:
            raise MalformedTokenError("token signature is not 64 bytes (r||s)")

        public_key = self.key_store.get(f"{key_base}/{kid}")
        der_signature = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
        try:
            public_key.verify(der_signature, signing_input, _ECDSA_SHA256)
        except (InvalidSignature, ValueError) as exc:
            raise InvalidSignatureError("token signature does not verify with the ALB key") from exc

        expires_at = header_exp if payload_exp is None else min(header_exp, payload_exp)
        self._check_times(expires_at, not_before)
        return _Verified(header, claims, expires_at, not_before)

    def _check_times(self, expires_at: float, not_before: float | None) -> None:
        now = self._clock()
        if now > expires_at + self.leeway:
            raise TokenExpiredError(f"token expired {now - expires_at:.0f} s ago")
        if not_before is not None and not_before > now + self.leeway:
            raise TokenNotYetValidError(f"token is not valid for another {not_before - now:.0f} s")


def _is_one_of(value: object, allowed: frozenset[str]) -> bool:
    return isinstance(value, str) and value in allowed  # a list or object in the header is not hashable


def _latest(*times: float | None) -> float | None:
    present = [t for t in times if t is not None]
    return max(present) if present else None
