"""An issuer's discovery document and JWKS (``OidcMetadata``): which keys count, how long answers are kept,
what is refused. Through ``get_alb_user`` against a provider on a loopback server, and directly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import streamlit as st
from cryptography.hazmat.primitives.asymmetric import ec
from helpers.oidc_provider import AUDIENCE, KEYS, SIGNER, Realm
from helpers.pinning import FakeClock, Reply, ScriptedServer

from streamlit_alb_auth import SESSION_STATE_KEY, errors
from streamlit_alb_auth.oidc_metadata import OidcMetadata
from streamlit_alb_auth.testing import LocalCognitoPool


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer({f"/alb/{SIGNER.kid}": Reply.body(SIGNER.public_key_pem)}) as running:
        yield running


@pytest.fixture(autouse=True)
def no_stored_user() -> None:
    st.session_state.pop(SESSION_STATE_KEY, None)


@pytest.fixture
def realm(server: ScriptedServer) -> Realm:
    return Realm(server)


def test_a_discovery_document_for_another_issuer_is_refused(realm):
    realm.serve_discovery({"issuer": "https://idp.example.com/impostor"})
    assert realm.user(realm.token()).groups == ()
    assert realm.count("/jwks") == 0


def test_an_explicit_jwks_url_skips_discovery(realm):
    assert realm.user(realm.token(), jwks_url=f"{realm.issuer}/jwks").groups == ("admin", "staff")
    assert realm.count("/.well-known/openid-configuration") == 0


def test_an_unknown_kid_refetches_the_jwks_at_most_once_per_cooldown(realm):
    assert realm.user(realm.token()).groups == ("admin", "staff")
    for n in range(5):
        assert realm.user(realm.token({"n": n}, kid=f"junk-{n}")).groups == ()
    assert realm.count("/jwks") == 1  # fetched within the cooldown: no refetch for junk kids


RSA_ENTRY = KEYS.jwks["keys"][0]


def ec_key_entry(private_key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    entry = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key()))
    return {**entry, "kid": kid}


@pytest.mark.parametrize(
    "entries",
    [
        [5, RSA_ENTRY],
        [{**RSA_ENTRY, "kid": "enc-key", "use": "enc"}, RSA_ENTRY],
        [{"kty": "oct", "kid": "secret", "k": "c2VjcmV0", "alg": "HS256"}, RSA_ENTRY],
        [{"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB", "alg": "RS256"}, RSA_ENTRY],
        [{k: v for k, v in RSA_ENTRY.items() if k != "alg"}],
        [{"kid": "no-kty", "crv": "P-256", "x": "AA", "y": "AA"}, RSA_ENTRY],
    ],
    ids=[
        "not-a-dict-first",
        "encryption-key-first",
        "shared-secret-first",
        "broken-first",
        "rsa-without-alg",
        "no-kty-first",
    ],
)
def test_the_usable_key_is_found_among_others(realm, entries):
    realm.serve_jwks({"keys": entries})
    assert realm.user(realm.token()).groups == ("admin", "staff")


def test_an_encryption_key_never_verifies(realm):
    realm.serve_jwks({"keys": [{**RSA_ENTRY, "use": "enc"}]})
    assert realm.user(realm.token()).groups == ()


@pytest.mark.parametrize(("curve", "algorithm"), [(ec.SECP256R1(), "ES256"), (ec.SECP384R1(), "ES384")])
def test_an_ec_key_without_alg_takes_its_curves_algorithm(realm, curve, algorithm):
    private_key = ec.generate_private_key(curve)
    realm.serve_jwks({"keys": [ec_key_entry(private_key, "ec-key")]})
    now = int(time.time())
    claims = {"sub": "sub-ada", "iss": realm.issuer, "aud": AUDIENCE, "exp": now + 60, "groups": ["ec"]}
    token = jwt.encode(claims, private_key, algorithm=algorithm, headers={"kid": "ec-key"})
    assert realm.user(token).groups == ("ec",)


def test_a_token_without_kid_uses_the_only_key(realm):
    token = jwt.encode(
        {
            "sub": "sub-ada",
            "iss": realm.issuer,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 60,
            "groups": ["one"],
        },
        KEYS.private_key,
        algorithm="RS256",
    )
    assert realm.user(token).groups == ("one",)
    other = Realm(realm.server)
    other.serve_jwks({"keys": [RSA_ENTRY, {**LocalCognitoPool(kid="second").jwks["keys"][0]}]})
    token = jwt.encode(
        {
            "sub": "sub-ada",
            "iss": other.issuer,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 60,
            "groups": ["one"],
        },
        KEYS.private_key,
        algorithm="RS256",
    )
    assert other.user(token).groups == ()  # two keys and no kid: no guessing


def test_a_failed_jwks_fetch_is_remembered_for_ten_seconds(realm):
    clock = FakeClock()
    realm.route("/jwks", Reply.body(b"", status=500))
    metadata = OidcMetadata(realm.issuer, jwks_url=f"{realm.issuer}/jwks", clock=clock)
    for moment in (0.0, 9.5):
        clock.now = 1_800_000_000.0 + moment
        with pytest.raises(errors.AccessTokenError):
            metadata.signing_key(KEYS.kid)
    assert realm.count("/jwks") == 1
    clock.now = 1_800_000_000.0 + 10.5
    realm.serve_jwks(KEYS.jwks)
    assert metadata.signing_key(KEYS.kid).algorithm == "RS256"
    assert realm.count("/jwks") == 2


def test_the_jwks_is_kept_an_hour_and_an_unknown_kid_refetches_after_the_cooldown(realm):
    clock = FakeClock(10.0)  # a small monotonic clock, as early after boot
    metadata = OidcMetadata(realm.issuer, jwks_url=f"{realm.issuer}/jwks", clock=clock)
    start = clock.now
    assert metadata.signing_key(KEYS.kid).kid == KEYS.kid
    clock.now = start + 29
    with pytest.raises(errors.AccessTokenError):
        metadata.signing_key("unknown")
    assert realm.count("/jwks") == 1  # within the cooldown: no refetch
    clock.now = start + 30.5
    assert metadata.signing_key(KEYS.kid).kid == KEYS.kid
    assert realm.count("/jwks") == 1  # a known kid never refetches
    with pytest.raises(errors.AccessTokenError):
        metadata.signing_key("unknown")
    assert realm.count("/jwks") == 2  # past the cooldown: one refetch
    clock.now = start + 30.5 + 3599
    assert metadata.signing_key(KEYS.kid).kid == KEYS.kid
    assert realm.count("/jwks") == 2
    clock.now = start + 30.5 + 3601
    assert metadata.signing_key(KEYS.kid).kid == KEYS.kid
    assert realm.count("/jwks") == 3  # an hour old: fetched again


def test_a_declared_algorithm_wins_over_the_key_type(realm):
    realm.serve_jwks({"keys": [{**RSA_ENTRY, "alg": "PS256"}]})
    claims = {
        "sub": "sub-ada",
        "iss": realm.issuer,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 60,
        "groups": ["ps"],
    }
    token = jwt.encode(claims, KEYS.private_key, algorithm="PS256", headers={"kid": KEYS.kid})
    assert realm.user(token).groups == ("ps",)
    other = Realm(realm.server)
    other.serve_jwks({"keys": [{**RSA_ENTRY, "alg": 256}]})  # a declared alg that is not a name: unusable
    assert other.user(other.token()).groups == ()


@pytest.mark.parametrize(("position", "found"), [(63, True), (64, False)])
def test_only_the_first_64_jwks_entries_are_read(realm, position, found):
    junk = [{"kty": "oct", "kid": f"junk-{n}", "k": "c2VjcmV0"} for n in range(position)]
    realm.serve_jwks({"keys": [*junk, RSA_ENTRY]})
    assert realm.user(realm.token()).groups == (("admin", "staff") if found else ())


def test_metadata_answers_are_capped_at_256_kib(realm):
    def jwks_of(size: int) -> bytes:
        start = json.dumps({"keys": [RSA_ENTRY], "pad": ""}).encode()[:-2]
        return start + b"x" * (size - len(start) - 2) + b'"}'

    realm.route("/jwks", Reply.body(jwks_of(256 * 1024)))
    assert realm.user(realm.token()).groups == ("admin", "staff")
    other = Realm(realm.server)
    other.route("/jwks", Reply.body(jwks_of(256 * 1024 + 1)))
    assert other.user(other.token()).groups == ()


def test_a_configured_userinfo_url_is_used_without_discovery(realm):
    metadata = OidcMetadata(realm.issuer, userinfo_url=f"{realm.issuer}/elsewhere")
    assert metadata.userinfo_url() == f"{realm.issuer}/elsewhere"
    assert realm.count("/.well-known/openid-configuration") == 0
    assert OidcMetadata(realm.issuer).userinfo_url() == f"{realm.issuer}/userinfo"
    assert realm.count("/.well-known/openid-configuration") == 1


@pytest.mark.parametrize("field", ["userinfo_endpoint", "jwks_uri"])
@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "file:///etc/passwd", "https://user:pw@idp.example.com/"],
)
def test_a_hostile_url_in_the_discovery_document_is_a_typed_refusal(realm, field, url):
    realm.serve_discovery({field: url})
    metadata = OidcMetadata(realm.issuer)
    with pytest.raises(errors.AccessTokenError, match=f"discovered {field}"):
        metadata.userinfo_url() if field == "userinfo_endpoint" else metadata.signing_key(None)
