"""The ALB session cookie: an encrypted blob, sharded into ``NAME-0``.. ``NAME-3`` of 4 KB each.

Like the ALB, the session travels in the cookie itself (sealed with AES-GCM under a key that lives
only in this process): expiring the cookies logs one browser out, and a copy of them stays valid
until its access token expires. Then the ALB asks the IdP again with the refresh token (ALB user
guide, "Authenticate users using an Application Load Balancer", Authentication logout: a session
cookie with an expired access token and a refresh token makes the load balancer contact the IdP),
so a session outlives a revocation by up to the access token's lifetime. Cognito's ``GlobalSignOut``
revokes the user's refresh tokens (Cognito API reference, GlobalSignOut); the stand-in keeps the time
of each user's last one (``Revocations``): a refresh token issued before it no longer refreshes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from streamlit_alb_auth.templates.logout_lambda import SHARDS

MAX_COOKIE_BYTES = 4096
"""A shard's ``name=value`` stays within this, the per-cookie size the ALB and browsers keep to."""
MAX_SHARDS = SHARDS
"""The ALB writes at most four shards (16 KB); the logout Lambda expires exactly these."""
# Cognito's refresh token is an opaque encrypted blob of about 1.8 KB; with one that size (and an ID
# token) our cookie is as large as the ALB's, so two shards are the normal case, as in production.
_REFRESH_TOKEN_BYTES = 1350


@dataclass(frozen=True)
class AlbSession:
    """What the ALB remembers about a sign-in: who, their tokens, and until when."""

    sub: str
    email: str
    username: str
    groups: tuple[str, ...]
    access_token: str
    expires_at: float
    id_token: str = ""
    refresh_token: str = ""
    issued_at: float = 0.0
    """When the user signed in: when the refresh token was issued."""
    scope: str = ""
    access_expires_at: float = 0.0

    def is_expired(self, now: float | None = None) -> bool:
        """Past the ALB's SessionTimeout: the cookie is worthless, whatever the tokens say."""
        return (time.time() if now is None else now) >= self.expires_at

    def needs_refresh(self, now: float | None = None) -> bool:
        """Its access token has expired: the ALB must ask the IdP before letting it through again."""
        return (time.time() if now is None else now) >= self.access_expires_at


def opaque_refresh_token() -> str:
    return secrets.token_urlsafe(_REFRESH_TOKEN_BYTES)


def shard_names(name: str) -> list[str]:
    return [f"{name}-{index}" for index in range(MAX_SHARDS)]


def shard_cookie(name: str, value: str, *, max_bytes: int = MAX_COOKIE_BYTES) -> list[tuple[str, str]]:
    """Split ``value`` into ``(NAME-i, part)`` pairs whose ``NAME-i=part`` fits ``max_bytes``."""
    chunk = max_bytes - len(f"{name}-{MAX_SHARDS - 1}=")
    parts = [value[start : start + chunk] for start in range(0, len(value), chunk)] or [""]
    if len(parts) > MAX_SHARDS:
        raise ValueError(f"session of {len(value)} bytes needs more than {MAX_SHARDS} cookies")
    return [(f"{name}-{index}", part) for index, part in enumerate(parts)]


def reassemble_cookie(cookies: Mapping[str, str], name: str) -> str | None:
    """Join ``NAME-0``, ``NAME-1``, ... up to the first missing shard; ``None`` without ``NAME-0``."""
    parts = []
    for shard in shard_names(name):
        part = cookies.get(shard)
        if part is None:
            break
        parts.append(part)
    return "".join(parts) if parts else None


class SessionSealer:
    """Seal sessions into cookie text and open them again; anything altered or foreign opens as None."""

    def __init__(self, key: bytes | None = None) -> None:
        self._aead = AESGCM(key or AESGCM.generate_key(bit_length=256))

    def seal(self, session: AlbSession) -> str:
        nonce = os.urandom(12)
        plain = json.dumps(asdict(session), separators=(",", ":")).encode("utf-8")
        sealed = nonce + self._aead.encrypt(nonce, plain, b"alb-session")
        return base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")

    def open(self, text: str | None) -> AlbSession | None:
        if not text:
            return None
        try:
            sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            plain = self._aead.decrypt(sealed[:12], sealed[12:], b"alb-session")
            fields = json.loads(plain)
            session = AlbSession(**{**fields, "groups": tuple(fields["groups"])})
        except (binascii.Error, ValueError, InvalidTag, KeyError, TypeError):
            return None
        return None if session.is_expired() else session


class Revocations:
    """When each user last signed out everywhere (``GlobalSignOut``): a refresh or access token issued
    before that is dead (an access token is refused by Cognito's own API and userInfo at once; the app,
    which checks it with the JWKS alone, accepts it until it expires, as it would in production)."""

    def __init__(self) -> None:
        self._signed_out_at: dict[str, float] = {}

    def revoke(self, sub: str, *, now: float | None = None) -> None:
        self._signed_out_at[sub] = time.time() if now is None else now

    def allows(self, sub: str, issued_at: float) -> bool:
        return issued_at > self._signed_out_at.get(sub, float("-inf"))
