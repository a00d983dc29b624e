"""Local signing for tests and the stand-in: an ALB's ES256 tokens, a Cognito pool's access tokens.

``LocalAlbSigner`` mints ``x-amzn-oidc-data`` exactly as the ALB does (padded base64url, raw r||s
signature, the ALB's header fields); ``LocalCognitoPool`` mints Cognito-shaped access tokens and serves
their JWKS. ``streamlit-alb-auth dev`` signs with the same classes, so the stand-in and your tests agree.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from streamlit_alb_auth.cognito import user_pool_issuer
from streamlit_alb_auth.localidp import DEFAULT_TEST_CLIENT_ID, LocalOidcProvider

__all__ = [
    "DEFAULT_TEST_ALB_ARN",
    "DEFAULT_TEST_ISSUER",
    "DEFAULT_TEST_REGION",
    "DEFAULT_TEST_USER_POOL_ID",
    "LocalAlbSigner",
    "LocalCognitoPool",
    "padded_b64url",
]

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
