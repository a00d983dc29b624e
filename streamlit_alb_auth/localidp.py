"""A local OpenID Connect provider's signing half: a key pair, its JWKS and discovery document, and
access tokens with the groups where the IdP puts them (``groups``, ``roles``, ``realm_access.roles``).

``testing.LocalCognitoPool`` is the Cognito preset of it, and ``streamlit-alb-auth dev --idp oidc``
serves one over HTTP. Nothing here touches the network.

    provider = LocalOidcProvider(issuer="http://127.0.0.1:8080/idp", client_id="my-app")
    token = provider.access_token("user-1", groups=["admin"])   # RS256, iss/aud/sub/exp/groups
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_TEST_CLIENT_ID = "local-app-client"
DEFAULT_OIDC_ISSUER = "https://idp.example.test/realms/local"


class LocalOidcProvider:
    """An RSA key pair standing in for an OIDC provider: JWKS, discovery, RS256 access tokens.

    Parameters
    ----------
    issuer : str
        Its issuer URL; endpoints in ``discovery()`` are paths under it.
    client_id : str
        The app client the tokens are issued to (``aud`` and ``azp``).
    groups_claim : str
        Where the access token carries the groups; a dotted path nests (``realm_access.roles``).
    kid : str, optional
        The key id in the JWKS and the tokens' header (default: a fresh one).
    """

    def __init__(
        self,
        *,
        issuer: str = DEFAULT_OIDC_ISSUER,
        client_id: str = DEFAULT_TEST_CLIENT_ID,
        groups_claim: str = "groups",
        kid: str | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.groups_claim = groups_claim
        self.kid = kid or f"local-{uuid.uuid4().hex[:12]}"
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def discovery(self) -> dict[str, Any]:
        """``/.well-known/openid-configuration``: every endpoint a path under the issuer."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks.json",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def access_token(
        self,
        sub: str,
        *,
        groups: Iterable[str] = (),
        username: str | None = None,
        expires_in: float = 3600,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed access token for ``sub``; ``claims`` are added last (to test a wrong ``aud`` etc.)."""
        now = int(time.time())
        payload = self.standard_claims(sub, username or sub, now, expires_in)
        group_list = list(groups)
        if group_list:
            _put(payload, self.groups_claim, group_list)
        payload.update(claims or {})
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def standard_claims(self, sub: str, username: str, now: int, expires_in: float) -> dict[str, Any]:
        """The claims every access token of this provider has, before groups."""
        return {
            "sub": sub,
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "scope": "openid email profile",
            "iat": now,
            "exp": int(now + expires_in),
            "jti": str(uuid.uuid4()),
            "preferred_username": username,
        }


def _put(payload: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for name in parents:
        payload = payload.setdefault(name, {})
    payload[leaf] = value
