"""AlbUser: claim normalisation, and every real ALB token in fixtures/real-alb/alb_tokens/, verified with
its real key, read through it.

The tokens are data from real ALBs in front of Cognito, Entra ID, Google, Auth0 and others (origins in
SOURCES.json); they are expired, so the verifier's clock is set to just before each one's ``exp``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.pinning import Reply, ScriptedServer
from helpers.real_alb import REAL

from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.user import MAX_PROVIDED_GROUPS, AlbUser, as_groups, decode_groups, encode_groups
from streamlit_alb_auth.verify import AlbJwtVerifier

TOKEN_FILES = sorted((REAL / "alb_tokens").glob("*.json"))
# AWS's key service answer as recorded (VCR): served as recorded, headers and all, for its kid.
RECORDED = json.loads((REAL / "alb_keys" / "aws_key_service_response_eu-west-2.vcr.json").read_text())


# What each provider's real token gives, normalised: (idp, email, name, username, picture starts with).
EXPECTED: dict[str, tuple[str, str | None, str | None, str | None, str | None]] = {
    "almacareer_entraid_eu-west-1": (
        "entra",
        "petr.chromec@almacareer.com",
        "Chromec Petr",
        None,
        "https://graph.microsoft.com/",
    ),
    "alphagov_google_eu-west-2": ("google", None, None, None, "https://lh5.googleusercontent.com/"),
    "awslabs_x509oidc_us-east-1": ("alpha.x509oidc.kinesis-tap.corp.a2z.com", None, None, None, None),
    "mjaulin_cognito_eu-west-1_2018": ("cognito", "m.jaulin@groupeonepoint.com", None, "m.jaulin", None),
    "panelapp_cognito_google_us-east-1": (
        "cognito",
        "kholix.tech@gmail.com",
        "Kholix Tech",
        "Google_100399914037119398993",
        None,
    ),
    "panelapp_cognito_google_us-east-1_second": (
        "cognito",
        "kholix.tech@gmail.com",
        "Kholix Tech",
        "Google_100399914037119398993",
        None,
    ),
    "sagebase_synapse_us-east-1": ("repo-prod.prod.sagebase.org", None, None, None, None),
    "siemens_auth0_eu-central-1": (
        "auth0",
        None,
        "Raphael Schnaitl",
        "Raphael",
        "https://s.gravatar.com/avatar/",
    ),
    "smallrye_cognito_eu-central-1": ("cognito", "duke@sun.com", None, "duke", None),
}


def test_the_real_tokens_are_found():
    assert {path.stem for path in TOKEN_FILES} == set(EXPECTED)


def recorded_reply() -> tuple[str, Reply]:
    """The recorded key service answer: its path's kid and the reply with the recorded body and headers."""
    (interaction,) = RECORDED["interactions"]
    response = interaction["response"]
    assert response["status"]["code"] == 200
    hop = ("Content-Length", "Connection")  # the server frames its own answer
    headers = {name: values[0] for name, values in response["headers"].items() if name not in hop}
    assert "Content-Type" not in headers  # S3 behind CloudFront sends none; the key store must not need one
    kid = interaction["request"]["uri"].rsplit("/", 1)[1]
    return kid, Reply.body(response["body"]["string"].encode(), headers=headers)


@pytest.fixture(scope="module")
def key_server() -> Iterator[ScriptedServer]:
    routes = {f"/alb/{pem.stem}": Reply.body(pem.read_bytes()) for pem in (REAL / "alb_keys").glob("*.pem")}
    kid, reply = recorded_reply()
    assert reply.chunks == [(REAL / "alb_keys" / f"{kid}.pem").read_bytes()]
    routes[f"/alb/{kid}"] = reply
    with ScriptedServer(routes) as server:
        yield server


def verified_user(path: Path, key_server: ScriptedServer) -> tuple[dict[str, Any], AlbUser]:
    fixture = json.loads(path.read_text())
    token = fixture["token"]
    exp = float(fixture["header"]["exp"] if isinstance(fixture["header"], dict) else _header_exp(token))
    verifier = AlbJwtVerifier(
        alb_arn=fixture["signer"],
        key_url=key_server.url("/alb"),
        key_store=AlbKeyStore(),
        clock=lambda: exp - 10,
    )
    header, claims = verifier.verify_with_header(token)
    return fixture, AlbUser(claims, header=header)


def _header_exp(token: str) -> float:
    import base64

    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["exp"]


@pytest.mark.parametrize("path", TOKEN_FILES, ids=lambda path: path.stem)
def test_each_real_token_reads_the_same_through_alb_user(path, key_server):
    fixture, user = verified_user(path, key_server)
    idp, email, name, username, picture = EXPECTED[path.stem]
    assert user.is_logged_in and user.sub == user.claims["sub"]
    assert user.idp == idp
    assert user.issuer and user.issuer.startswith("https://")
    assert (user.email, user.name, user.username) == (email, name, username)
    if picture is None:
        assert user.picture is None
    else:
        assert user.picture and user.picture.startswith(picture)
    assert user.groups == ()  # the ALB-signed claims carry no verified groups
    identity = fixture.get("x-amzn-oidc-identity")
    if identity:
        assert identity == user.sub


def test_the_issuer_comes_from_the_signed_header_when_the_payload_has_none(key_server):
    path = next(path for path in TOKEN_FILES if path.stem == "mjaulin_cognito_eu-west-1_2018")
    _, user = verified_user(path, key_server)
    assert "iss" not in user.claims
    assert user.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Hhi4Cqye1"


# AlbUser itself: which claims count, and when a user is logged in.


def test_only_string_groups_from_a_list_count():
    assert AlbUser({"sub": "s"}, access_token_claims={"cognito:groups": ["a", 5, None, "b"]}).groups == (
        "a",
        "b",
    )
    assert AlbUser({"sub": "s"}, access_token_claims={"cognito:groups": {"a": 1}}).groups == ()


def test_username_prefers_the_verified_data_token():
    access = {"username": "from-access"}
    assert (
        AlbUser({"sub": "s", "username": "u", "cognito:username": "c"}, access_token_claims=access).username
        == "u"
    )
    assert AlbUser({"sub": "s", "cognito:username": "c", "preferred_username": "p"}).username == "c"
    assert AlbUser({"sub": "s", "preferred_username": "p"}, access_token_claims=access).username == "p"
    assert AlbUser({"sub": "s", "username": ""}, access_token_claims=access).username == "from-access"
    assert AlbUser({"sub": "s"}).username is None


def test_a_user_without_sub_is_not_logged_in():
    assert AlbUser({"sub": ""}).is_logged_in is False
    assert AlbUser({"email": "a@example.com"}).is_logged_in is False
    assert repr(AlbUser({"email": "a@example.com"})) == "AlbUser(is_logged_in=False)"


def test_the_mapping_is_is_logged_in_then_each_claim_once():
    # Claim names arrive from JSON, as in a real token; a claim may not pose as is_logged_in.
    claims = json.loads('{"sub": "s", "email": "a@example.com", "name": "Ada", "is_logged_in": "forged"}')
    user = AlbUser(claims)
    assert list(user) == ["is_logged_in", "sub", "email", "name"]
    assert len(user) == 4
    assert user["is_logged_in"] is True and user["sub"] == "s"
    assert user.to_dict() == {"is_logged_in": True, "sub": "s", "email": "a@example.com", "name": "Ada"}


def test_a_groups_provider_may_return_up_to_the_cap_and_no_more():
    assert as_groups(["g"] * MAX_PROVIDED_GROUPS) == ("g",) * MAX_PROVIDED_GROUPS
    assert as_groups("admin") == ("admin",)
    with pytest.raises(ValueError, match=f"more than {MAX_PROVIDED_GROUPS}"):
        as_groups(itertools.repeat("g"))
    with pytest.raises(TypeError):
        as_groups({"admin": False})
    with pytest.raises(TypeError):
        as_groups(["admin", 5])


def test_is_logged_in_is_found_by_a_key_built_at_run_time():
    user = AlbUser(json.loads('{"sub": "s", "is_logged_in": "forged"}'))
    assert user["".join(["is_", "logged_in"])] is True  # not the same string object as the literal


def test_an_endless_groups_provider_is_read_one_past_the_cap_and_no_further():
    pulled = 0

    def endless():
        nonlocal pulled
        while True:
            pulled += 1
            yield "g"

    with pytest.raises(ValueError):
        as_groups(endless())
    assert pulled == MAX_PROVIDED_GROUPS + 1


def test_a_machine_client_is_named_by_the_first_non_empty_id_claim():
    machine = AlbUser({"sub": "svc", "client_id": "", "azp": "reports-agent"}, machine=True)
    assert machine.is_machine and machine.client_id == "reports-agent"
    assert "client_id='reports-agent'" in repr(machine) and repr(machine).endswith("machine)")
    person = AlbUser({"sub": "s", "email": "a@example.com", "azp": "reports-agent"})
    assert person.client_id is None and "machine" not in repr(person)


def test_the_access_token_claims_read_as_a_mapping():
    user = AlbUser({"sub": "s"}, access_token_claims={"scope": "openid"})
    assert dict(user.access_token_claims) == {"scope": "openid"}


def test_groups_decode_exactly_what_was_encoded_and_nothing_else():
    assert decode_groups(encode_groups(("a,b", "100%", "c"))) == ("a,b", "100%", "c")
    assert decode_groups("") == () and decode_groups(None) == () and decode_groups(5) == ()
