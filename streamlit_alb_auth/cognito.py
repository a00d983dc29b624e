"""Verify the Cognito access token the ALB forwards, so ``cognito:groups`` can be trusted.

The ALB signs only ``x-amzn-oidc-data``; ``x-amzn-oidc-accesstoken`` is passed through as Cognito issued
it. Its groups are trusted only after its RS256 signature verifies against the user pool's JWKS.
Pure Python (PyJWT): no Streamlit import.
"""

from __future__ import annotations

import re
from typing import Any

import jwt

from streamlit_alb_auth.errors import AccessTokenError, ConfigurationError
from streamlit_alb_auth.fetch import require_fetchable_url

USER_POOL_ID_PATTERN = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)_[0-9A-Za-z]+")
MAX_ACCESS_TOKEN_LENGTH = 16 * 1024


def user_pool_issuer(user_pool_id: str) -> str:
    match = USER_POOL_ID_PATTERN.fullmatch(user_pool_id)
    if match is None:
        raise ConfigurationError(f"{user_pool_id!r} is not a Cognito user pool id (REGION_ID)")
    return f"https://cognito-idp.{match['region']}.amazonaws.com/{user_pool_id}"


class CognitoAccessTokenVerifier:
    """Checks a Cognito access token: RS256 signature (JWKS), ``iss``, ``exp``, ``token_use``, ``client_id``.

    Keys come from PyJWT's ``PyJWKClient``: the JWKS is cached (``lifespan`` seconds, up to 16 keys), an
    unknown ``kid`` refetches it, and every fetch has a timeout. ``jwks_url`` overrides the pool's own
    URL (``{issuer}/.well-known/jwks.json``) for local development; it must be HTTPS or loopback HTTP.
    """

    def __init__(
        self,
        *,
        user_pool_id: str,
        client_id: str | None = None,
        jwks_url: str | None = None,
        leeway: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self.issuer = user_pool_issuer(user_pool_id)
        self.client_id = client_id
        self.leeway = leeway
        url = require_fetchable_url(jwks_url or f"{self.issuer}/.well-known/jwks.json", "JWKS URL")
        self._jwks = jwt.PyJWKClient(url, cache_keys=True, max_cached_keys=16, lifespan=3600, timeout=timeout)

    def verify(self, token: str, *, expected_sub: str) -> dict[str, Any]:
        """Return the access token's claims, or raise ``AccessTokenError`` saying why not."""
        if not token or len(token) > MAX_ACCESS_TOKEN_LENGTH:
            raise AccessTokenError("access token is missing or over the size cap")
        try:
            signing_key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise AccessTokenError(f"access token rejected: {type(exc).__name__}: {exc}") from exc
        except (ValueError, TypeError, OSError) as exc:
            raise AccessTokenError(f"access token could not be checked: {type(exc).__name__}") from exc
        if claims.get("token_use") != "access":
            raise AccessTokenError("token is not an access token (token_use)")
        if self.client_id is not None and claims.get("client_id") != self.client_id:
            raise AccessTokenError("access token was issued to another client")
        if claims.get("sub") != expected_sub:
            raise AccessTokenError("access token belongs to another user (sub)")
        return claims
