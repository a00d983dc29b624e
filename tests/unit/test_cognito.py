"""Both Cognito issuer formats: a pool's access tokens verify under its original or its updated issuer,
each against the JWKS of the issuer it names; another pool, region or host gets nothing.

Real format: the real access token in ``shared/real-alb/cognito`` (original issuer, real JWKS), and a
copy of its claims under the updated issuer, signed by a local key (Cognito's updated issuer is newer
than every real token found; the claims are the real ones, only ``iss`` differs).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers.pinning import Reply, ScriptedServer
from helpers.real_alb import REAL

from streamlit_alb_auth import errors
from streamlit_alb_auth.access_token import IdpVerifier
from streamlit_alb_auth.authenticate import Authenticator
from streamlit_alb_auth.cognito import issuer_aliases, user_pool_issuer, user_pool_issuers
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.testing import LocalAlbSigner

POOL = "us-east-1_iWcTPhZBA"
ORIGINAL = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
UPDATED = f"https://issuer-cognito-idp.us-east-1.amazonaws.com/{POOL}"
LOCAL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
LOCAL_KID = "local-updated-issuer-key"


def test_a_pool_has_an_original_and_an_updated_issuer():
    assert user_pool_issuers(POOL) == (ORIGINAL, UPDATED)
    assert user_pool_issuer(POOL) == ORIGINAL
    assert user_pool_issuer(POOL, updated=True) == UPDATED


@pytest.mark.parametrize("issuer", [ORIGINAL, UPDATED])
def test_either_format_names_the_same_two_issuers(issuer):
    assert issuer_aliases(issuer) == (ORIGINAL, UPDATED)


@pytest.mark.parametrize(
    "issuer",
    [
        "https://issuer-cognito-idp.us-west-2.amazonaws.com/us-east-1_iWcTPhZBA",  # the pool, wrong region
        "https://evil-cognito-idp.us-east-1.amazonaws.com/us-east-1_iWcTPhZBA",
        "https://cognito-idp.us-east-1.amazonaws.com.evil.example/us-east-1_iWcTPhZBA",
        "http://cognito-idp.us-east-1.amazonaws.com/us-east-1_iWcTPhZBA",
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_iWcTPhZBA/",
        "https://idp.example.com/realms/main",
    ],
)
def test_nothing_else_is_an_alias(issuer):
    assert issuer_aliases(issuer) == (issuer,)


def test_another_pool_aliases_only_its_own_issuers():
    other = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool"
    assert ORIGINAL not in issuer_aliases(other) and UPDATED not in issuer_aliases(other)


def test_the_cognito_preset_asks_each_issuer_for_its_own_keys():
    verifier = IdpVerifier.cognito_pool(POOL, client_id="client")
    assert verifier.issuers == (ORIGINAL, UPDATED)
    for issuer in (ORIGINAL, UPDATED):
        metadata = verifier.metadata_for(issuer)
        assert metadata is not None and metadata.jwks_url == f"{issuer}/.well-known/jwks.json"
    assert verifier.metadata_for("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other") is None


# --- real-format tokens, each issuer's JWKS served on loopback --------------------------------------


@pytest.fixture(scope="module")
def real() -> dict[str, Any]:
    if REAL is None:
        pytest.skip("../shared/real-alb is not beside this checkout")
    record = json.loads((REAL / "cognito" / f"access_token_{POOL}.json").read_text())
    record["jwks"] = json.loads((REAL / "cognito" / f"jwks_{POOL}.json").read_text())
    return record


@pytest.fixture
def jwks_server(real: dict[str, Any]) -> Iterator[ScriptedServer]:
    local = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(LOCAL_KEY.public_key()))
    routes = {
        "/original/jwks.json": Reply.body(json.dumps(real["jwks"]).encode()),
        "/updated/jwks.json": Reply.body(
            json.dumps({"keys": [{**local, "kid": LOCAL_KID, "alg": "RS256", "use": "sig"}]}).encode()
        ),
    }
    with ScriptedServer(routes) as server:
        yield server


def verifier(real: dict[str, Any], server: ScriptedServer, **jwks: str) -> IdpVerifier:
    """The Cognito preset with each issuer's JWKS on loopback; the leeway reaches back to the real
    token's time (it expired in 2021), so the checks here are about issuers and keys, not the clock."""
    urls = {ORIGINAL: server.url("/original/jwks.json"), UPDATED: server.url("/updated/jwks.json")}
    urls.update(
        {ORIGINAL if name == "original" else UPDATED: server.url(path) for name, path in jwks.items()}
    )
    exp = jwt.decode(real["token"], options={"verify_signature": False})["exp"]
    return IdpVerifier.cognito_pool(
        POOL, client_id=real["client_id"], jwks_url=urls, leeway=time.time() - exp + 3600
    )


def copy_with(real: dict[str, Any], **changes: Any) -> str:
    """The real token's claims with ``changes``, signed by the local key (as an updated-issuer pool would)."""
    claims = {**jwt.decode(real["token"], options={"verify_signature": False}), **changes}
    return jwt.encode(claims, LOCAL_KEY, algorithm="RS256", headers={"kid": LOCAL_KID})


def test_a_real_original_issuer_token_verifies_against_the_original_jwks(real, jwks_server):
    facts = verifier(real, jwks_server).check(real["token"], expected_sub=real["sub"])
    assert facts.access_token_claims["iss"] == ORIGINAL
    assert facts.access_token_claims["cognito:groups"] == [f"{POOL}_adfs"]
    assert jwks_server.count("/original/jwks.json") == 1
    assert jwks_server.count("/updated/jwks.json") == 0


def test_an_updated_issuer_token_verifies_against_the_updated_jwks(real, jwks_server):
    facts = verifier(real, jwks_server).check(copy_with(real, iss=UPDATED), expected_sub=real["sub"])
    assert facts.access_token_claims["iss"] == UPDATED
    assert facts.access_token_claims["cognito:groups"] == [f"{POOL}_adfs"]
    assert jwks_server.count("/updated/jwks.json") == 1
    assert jwks_server.count("/original/jwks.json") == 0


def test_each_issuer_is_checked_with_its_own_keys_only(real, jwks_server):
    """The real token under the updated issuer's keys, and the local one under the original's: refused."""
    crossed = verifier(real, jwks_server, original="/updated/jwks.json", updated="/original/jwks.json")
    with pytest.raises(errors.AccessTokenError):
        crossed.check(real["token"], expected_sub=real["sub"])
    with pytest.raises(errors.AccessTokenError):
        crossed.check(copy_with(real, iss=UPDATED), expected_sub=real["sub"])


@pytest.mark.parametrize(
    "issuer",
    [
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool",
        "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool",
        "https://issuer-cognito-idp.eu-west-1.amazonaws.com/us-east-1_iWcTPhZBA",
        "https://issuer-cognito-idp.us-east-1.amazonaws.com.evil.example/us-east-1_iWcTPhZBA",
    ],
)
def test_another_pool_region_or_host_is_refused_before_any_fetch(real, jwks_server, issuer):
    with pytest.raises(errors.AccessTokenError, match="InvalidIssuerError"):
        verifier(real, jwks_server).check(copy_with(real, iss=issuer), expected_sub=real["sub"])
    assert jwks_server.requests == []


# --- the ALB's data token: its iss, where checked, may be either of the pool's ------------------------


@pytest.fixture
def alb_keys() -> Iterator[tuple[ScriptedServer, dict[str, LocalAlbSigner]]]:
    signers = {name: LocalAlbSigner(client_id="client", issuer=name) for name in (ORIGINAL, UPDATED)}
    other = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool"
    signers[other] = LocalAlbSigner(client_id="client", issuer=other)
    routes = {f"/alb/{signer.kid}": Reply.body(signer.public_key_pem) for signer in signers.values()}
    with ScriptedServer(routes) as server:
        yield server, signers


@pytest.mark.parametrize("configured", [ORIGINAL, UPDATED])
def test_the_data_token_may_carry_either_issuer_of_the_configured_pool(alb_keys, configured, caplog):
    server, signers = alb_keys
    settings = {
        "alb_arn": signers[ORIGINAL].alb_arn,
        "client_id": "client",
        "issuer": configured,
        "key_url": server.url("/alb"),
    }
    authenticator = Authenticator(resolve_settings(settings, environ={}, secrets={}), key_store=AlbKeyStore())
    for issuer in (ORIGINAL, UPDATED):
        headers = signers[issuer].headers({"sub": "sub-1"})
        assert authenticator.authenticate(*headers.values()).issuer == issuer
    other = next(signer for name, signer in signers.items() if name not in (ORIGINAL, UPDATED))
    with caplog.at_level(logging.INFO), pytest.raises(errors.IssuerMismatchError):
        authenticator.authenticate(*other.headers({"sub": "sub-1"}).values())


def test_a_user_of_either_issuer_is_a_cognito_user(alb_keys):
    server, signers = alb_keys
    settings = {"alb_arn": signers[ORIGINAL].alb_arn, "key_url": server.url("/alb")}
    authenticator = Authenticator(resolve_settings(settings, environ={}, secrets={}), key_store=AlbKeyStore())
    for issuer in (ORIGINAL, UPDATED):
        assert authenticator.authenticate(*signers[issuer].headers({"sub": "s"}).values()).idp == "cognito"


def test_the_shipped_stack_names_the_original_issuer_which_admits_both():
    """stack.yaml sets ALB_AUTH_ISSUER to the original format; a pool switched to UPDATED keeps working."""
    stack = (
        Path(__file__).resolve().parents[2] / "streamlit_alb_auth" / "templates" / "stack.yaml"
    ).read_text()
    assert "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}" in stack
    assert issuer_aliases(ORIGINAL)[1] == UPDATED
