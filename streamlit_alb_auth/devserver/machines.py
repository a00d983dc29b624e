"""``dev --machine-clients``: the ALB's ``jwt-validation`` rule and a client-credentials token endpoint.

The rule, as stack.yaml's ``MachineRule`` sets it up and as AWS documents it ("Verify JWTs using an
Application Load Balancer"; API ``JwtValidationActionConfig``): on the agent paths, a bearer token must
be RS256 (the only algorithm the ALB supports), signed by a key of the issuer's JWKS, with ``iss``
exactly the issuer and a live ``exp``; ``nbf`` and ``iat`` are checked when present; then each
additional claim. A valid token is forwarded as is, with no ``x-amzn-oidc-*`` header; anything else
is refused with 401 (and ``WWW-Authenticate: Bearer``, RFC 6750).

The token endpoint, as Cognito's ``/oauth2/token`` answers ``grant_type=client_credentials`` (Cognito
developer guide, "The token endpoint"; RFC 6749 section 4.4): the client authenticates with HTTP Basic
(``client_secret_basic``) or in the form (``client_secret_post``), may narrow ``scope`` to the scopes it
is allowed (all of them when it names none), and gets an RS256 access token of the stand-in's pool.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web

from streamlit_alb_auth.localidp import LocalOidcProvider

AGENT_PATH_PREFIX = "/_stcore/agent/"
"""stack.yaml's MachineRule path pattern ``/_stcore/agent/*`` (a test holds the two equal)."""
MACHINE_SCOPE = "streamlit/agent"
"""The scope of stack.yaml's MachineResourceServer (identifier ``streamlit``, scope ``agent``)."""
MACHINE_CLIENT_ID = "albauthdevmachine"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a secret)
MACHINE_TOKEN_SECONDS = 3600
"""stack.yaml's MachineClient AccessTokenValidity: 60 minutes."""
MAX_FORM_BYTES = 8 * 1024
_BEARER_CHALLENGE = 'Bearer error="invalid_token"'


@dataclass(frozen=True)
class Claim:
    """One of the rule's ``AdditionalClaims``: ``Format``, ``Name``, ``Values``."""

    format: str
    name: str
    values: tuple[str, ...]

    def holds(self, claims: Mapping[str, Any]) -> bool:
        """AWS does not say whether several values mean all or any: the stand-in wants all (stricter)."""
        found = claims.get(self.name)
        if self.format == "single-string":
            return isinstance(found, str) and found in self.values
        if self.format == "space-separated-values":
            return isinstance(found, str) and set(self.values) <= set(found.split(" "))
        if self.format == "string-array":
            items = found if isinstance(found, list) else []
            return all(isinstance(item, str) for item in items) and set(self.values) <= set(items)
        return False


class MachineClients:
    """The machine rule and the token endpoint of one stand-in run, over its pool's key."""

    def __init__(self, pool: LocalOidcProvider, client_secret: str) -> None:
        self.pool = pool
        self.client_id = MACHINE_CLIENT_ID
        self.client_secret = client_secret
        self.allowed_scopes = (MACHINE_SCOPE,)
        # What stack.yaml's MachineRule checks with MachineClients cognito.
        self.claims: Sequence[Claim] = (
            Claim("single-string", "client_id", (MACHINE_CLIENT_ID,)),
            Claim("space-separated-values", "scope", (MACHINE_SCOPE,)),
        )

    @staticmethod
    def covers(path: str) -> bool:
        return path.startswith(AGENT_PATH_PREFIX)

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", TOKEN_PATH, self.token)]

    # --- the rule ------------------------------------------------------------------------------------

    def refusal(self, request: web.Request) -> web.Response | None:
        """``None`` when the request's bearer token passes the rule, else the ALB's 401."""
        values = request.headers.getall("Authorization", [])
        if len(values) != 1:
            return self._unauthorized()
        scheme, _, token = values[0].partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self._unauthorized()
        return None if self.verify(token) is not None else self._unauthorized()

    def verify(self, token: str) -> dict[str, Any] | None:
        """The token's claims if the rule lets it through; ``None`` otherwise (never raises)."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256" or header.get("kid") != self.pool.kid:
                return None
            claims = jwt.decode(
                token,
                self.pool.private_key.public_key(),
                algorithms=["RS256"],
                issuer=self.pool.issuer,
                options={"require": ["iss", "exp"], "verify_aud": False},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        return claims if all(claim.holds(claims) for claim in self.claims) else None

    @staticmethod
    def _unauthorized() -> web.Response:
        return web.Response(
            status=401, text="401 Authorization Required", headers={"WWW-Authenticate": _BEARER_CHALLENGE}
        )

    # --- the token endpoint --------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST"})
        if request.content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
        if request.content_length is None or request.content_length > MAX_FORM_BYTES:
            return _oauth_error(400, "invalid_request", "the form is missing or too large")
        form = await request.post()
        basic = request.headers.get("Authorization", "")
        client = self._client(basic, form)
        if client is None:
            headers = {"WWW-Authenticate": 'Basic realm="token"'} if basic else {}
            return _oauth_error(401, "invalid_client", "unknown client or wrong secret", headers)
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "only client_credentials is offered here")
        asked = str(form.get("scope", "")).split()
        if any(scope not in self.allowed_scopes for scope in asked):
            return _oauth_error(400, "invalid_scope", "the client may ask only for " + MACHINE_SCOPE)
        scope = " ".join(asked or self.allowed_scopes)
        return web.json_response(
            {"access_token": self.mint(scope), "expires_in": MACHINE_TOKEN_SECONDS, "token_type": "Bearer"},
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def mint(self, scope: str, *, now: float | None = None) -> str:
        """A Cognito client-credentials access token: the client is its own subject; no user, no aud."""
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": self.client_id,
            "iss": self.pool.issuer,
            "client_id": self.client_id,
            "token_use": "access",
            "scope": scope,
            "auth_time": issued,
            "iat": issued,
            "exp": issued + MACHINE_TOKEN_SECONDS,
            "jti": str(uuid.uuid4()),
            "version": 2,
        }
        return jwt.encode(claims, self.pool.private_key, algorithm="RS256", headers={"kid": self.pool.kid})

    def _client(self, basic: str, form: Mapping[str, Any]) -> str | None:
        """The authenticated client id, from exactly one of Basic or the form; ``None`` otherwise."""
        posted = "client_secret" in form
        if basic and posted:
            return None  # RFC 6749 2.3: one authentication method per request
        if basic:
            scheme, _, encoded = basic.partition(" ")
            try:
                pair = base64.b64decode(encoded, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            client_id, _, secret = pair.partition(":")
            if scheme.lower() != "basic":
                return None
        else:
            client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        same_id = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        same_secret = hmac.compare_digest(secret.encode(), self.client_secret.encode())
        return self.client_id if same_id and same_secret and secret else None


def _oauth_error(
    status: int, code: str, description: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """RFC 6749 section 5.2's error answer."""
    return web.json_response(
        {"error": code, "error_description": description},
        status=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
