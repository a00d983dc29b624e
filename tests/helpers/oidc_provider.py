"""A generic OIDC provider played by a scripted loopback server: discovery, JWKS and userinfo per realm.

The ALB's data token (signed by ``SIGNER``, its key at ``/alb/<kid>`` of the same server) always verifies;
only what ``groups`` holds changes. One issuer path per realm, so no cache carries over between tests.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import jwt
import streamlit as st

from helpers.pinning import Reply, ScriptedServer
from streamlit_alb_auth import SESSION_STATE_KEY, AlbUser, get_alb_user
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool

SIGNER = LocalAlbSigner()


ADA = {"sub": "sub-ada", "email": "ada@example.com"}


KEYS = LocalCognitoPool(kid="oidc-key")  # an RSA key pair and its JWKS entry


AUDIENCE = "my-app"


_realms = itertools.count()


class Realm:
    """One provider: its issuer URL and the routes that serve it."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.path = f"/realm-{next(_realms)}"
        self.issuer = server.url(self.path)
        self.serve_discovery({})
        self.serve_jwks(KEYS.jwks)
        self.serve_userinfo({"sub": "sub-ada", "groups": ["from-userinfo"]})

    def serve_discovery(self, changes: dict[str, Any]) -> None:
        document = {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            **changes,
        }
        self.route("/.well-known/openid-configuration", Reply.body(json.dumps(document).encode()))

    def serve_jwks(self, jwks: Any) -> None:
        self.route("/jwks", Reply.body(json.dumps(jwks).encode()))

    def serve_userinfo(self, answer: Any) -> None:
        self.route("/userinfo", Reply.body(json.dumps(answer).encode()))

    def route(self, suffix: str, reply: Reply) -> None:
        self.server.routes[self.path + suffix] = reply

    def count(self, suffix: str) -> int:
        return self.server.count(self.path + suffix)

    def token(
        self, changes: dict[str, Any] | None = None, *, drop: tuple[str, ...] = (), **header: Any
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": "sub-ada",
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 600,
            "groups": ["admin", "staff"],
            **(changes or {}),
        }
        for name in drop:
            payload.pop(name)
        return jwt.encode(payload, KEYS.private_key, algorithm="RS256", headers={"kid": KEYS.kid, **header})

    def user(self, access_token: str, **settings: Any) -> AlbUser:
        st.session_state.pop(SESSION_STATE_KEY, None)
        options: dict[str, Any] = {
            "alb_arn": SIGNER.alb_arn,
            "key_url": self.server.url("/alb"),
            "oidc_issuer": self.issuer,
            "audience": AUDIENCE,
            "groups_claim": "groups",
            **settings,
        }
        headers = SIGNER.headers(ADA, access_token=access_token)
        user = get_alb_user(required=False, headers=headers, **options)
        assert user.is_logged_in and user.sub == "sub-ada", user.problem
        return user
