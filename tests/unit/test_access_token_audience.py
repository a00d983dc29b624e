"""The access token's audience is this app's in userinfo mode too (issue 21, item 4).

A local provider (discovery, JWKS, userinfo) runs on a real loopback HTTP server that counts requests; its
userinfo answers for ``sub-ada`` with the group ``ops``, whatever token it is shown, so a test sees
whether the app trusted a token issued to another app, and whether it spent a userinfo call on it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers.pinning import Reply, ScriptedServer

from streamlit_alb_auth.access_token import ANY_AUDIENCE, IdpVerifier
from streamlit_alb_auth.authenticate import Authenticator
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.errors import AccessTokenError, ConfigurationError
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.testing import LocalAlbSigner

SIGNER = LocalAlbSigner(client_id="my-app")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ADA = {"sub": "sub-ada", "email": "ada@example.com"}
REALM = "/realms/main"
USERINFO = REALM + "/userinfo"
GRAPH = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph's application id, an Entra Graph token's aud


@pytest.fixture
def idp() -> Iterator[ScriptedServer]:
    with ScriptedServer({f"/alb/{SIGNER.kid}": Reply.body(SIGNER.public_key_pem)}) as server:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
        discovery = {
            "issuer": server.url(REALM),
            "jwks_uri": server.url(REALM + "/certs"),
            "userinfo_endpoint": server.url(USERINFO),
        }
        server.routes[REALM + "/.well-known/openid-configuration"] = Reply.body(
            json.dumps(discovery).encode()
        )
        server.routes[REALM + "/certs"] = Reply.body(
            json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]}).encode()
        )
        server.routes[USERINFO] = Reply.body(json.dumps({"sub": "sub-ada", "groups": ["ops"]}).encode())
        yield server


def token(server: ScriptedServer, claims: dict[str, Any], **header: Any) -> str:
    now = int(time.time())
    base = {"iss": server.url(REALM), "sub": "sub-ada", "iat": now, "exp": now + 300, "groups": ["ops"]}
    return jwt.encode({**base, **claims}, KEY, algorithm="RS256", headers={"kid": "k1", **header})


def groups(server: ScriptedServer, access_token: str, **settings: Any) -> tuple[str, ...]:
    options = {
        "alb_arn": SIGNER.alb_arn,
        "client_id": "my-app",
        "key_url": server.url("/alb"),
        "oidc_issuer": server.url(REALM),
        "groups_claim": "groups",
        **settings,
    }
    authenticator = Authenticator(resolve_settings(options, environ={}, secrets={}), key_store=AlbKeyStore())
    user = authenticator.authenticate(*SIGNER.headers(ADA, access_token=access_token).values())
    assert user.sub == "sub-ada"  # the identity stands whatever the access token
    return user.groups


OTHER_APP = {"aud": "other-app", "azp": "other-app"}


@pytest.mark.parametrize("mode", ["userinfo setting", "nonce header"])
def test_a_jwt_issued_to_another_app_gives_no_groups_and_costs_no_userinfo_call(idp, caplog, mode):
    if mode == "userinfo setting":
        assert groups(idp, token(idp, OTHER_APP), userinfo=True) == ()
    else:  # Entra-style: a nonce in the header sends the token to userinfo without the setting
        assert groups(idp, token(idp, OTHER_APP, nonce="n-1")) == ()
    assert idp.count(USERINFO) == 0
    assert "issued to another client (aud/client_id)" in caplog.text


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "my-app"},
        {"aud": ["account", "my-app"]},
        {"aud": "account", "azp": "my-app"},
        {"aud": "api://default", "cid": "my-app"},  # Okta
        {"client_id": "my-app"},  # Cognito
        {"aud": GRAPH, "appid": "my-app"},  # Entra ID's Graph token (v1 claims)
    ],
)
def test_a_jwt_for_this_app_is_asked_about_in_userinfo_mode(idp, claims):
    assert groups(idp, token(idp, claims), userinfo=True) == ("ops",)
    assert idp.count(USERINFO) == 1


def test_an_entra_graph_token_with_a_nonce_passes_by_its_appid(idp):
    graph = token(idp, {"aud": GRAPH, "appid": "my-app", "ver": "1.0"}, nonce="n-2")
    assert groups(idp, graph) == ("ops",)


def test_the_audience_setting_names_who_the_token_is_for_in_userinfo_mode(idp):
    assert groups(idp, token(idp, {"aud": GRAPH}), userinfo=True) == ()
    assert groups(idp, token(idp, {"aud": GRAPH}), userinfo=True, audience=GRAPH) == ("ops",)


def test_any_audience_is_spelled_out_and_only_with_userinfo(idp):
    assert groups(idp, token(idp, OTHER_APP), userinfo=True, audience=ANY_AUDIENCE) == ("ops",)
    with pytest.raises(ConfigurationError, match="needs userinfo") as refused:
        groups(idp, token(idp, OTHER_APP), audience=ANY_AUDIENCE)
    assert refused.value.setting == "audience"
    # Verifying the token itself (no userinfo) never accepts another app's token, whatever else is set.
    assert groups(idp, token(idp, OTHER_APP)) == ()


def test_an_opaque_token_is_still_judged_by_userinfo_alone(idp):
    assert groups(idp, "opaque-token-from-the-idp", userinfo=True) == ("ops",)
    assert idp.count(USERINFO) == 1


def test_a_jwt_whose_claims_cannot_be_read_is_refused_before_userinfo(idp):
    header = token(idp, {"aud": "my-app"}).split(".")[0]
    assert groups(idp, f"{header}.bm90LWpzb24.c2ln", userinfo=True) == ()
    assert idp.count(USERINFO) == 0


def test_the_verifier_refuses_another_audience_by_a_typed_error(idp):
    verifier = IdpVerifier(idp.url(REALM), audience="my-app", userinfo=True)
    with pytest.raises(AccessTokenError, match="another client"):
        verifier.check(token(idp, OTHER_APP), expected_sub="sub-ada")
    assert verifier.check(token(idp, {"aud": "my-app"}), expected_sub="sub-ada").userinfo["groups"] == ["ops"]
