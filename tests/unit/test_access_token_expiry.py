"""``IdpVerifier`` counts an access token's ``exp`` on its own clock, with the leeway (30 s by default),
both where it verifies the token and where it only reads it before asking userinfo.

The token is minted live for the system clock (so PyJWT's own check passes); the verifier's clock is a
fake one set around the token's ``exp``. The provider (discovery, JWKS, userinfo) runs on loopback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.oidc_provider import AUDIENCE, Realm
from helpers.pinning import FakeClock, ScriptedServer

from streamlit_alb_auth.access_token import IdpFacts, IdpVerifier
from streamlit_alb_auth.errors import AccessTokenError

LEEWAY = 30.0  # the documented default, spelled out so a changed default fails here


@pytest.fixture
def idp() -> Iterator[Realm]:
    with ScriptedServer() as server:
        yield Realm(server)


def check_at(realm: Realm, offset: float, *, userinfo: bool, **options: Any) -> IdpFacts:
    """Check a token for this app whose ``exp`` is ``offset`` seconds before the verifier's clock."""
    expires = int(time.time()) + 300
    clock = FakeClock(expires + offset)
    verifier = IdpVerifier(realm.issuer, audience=AUDIENCE, userinfo=userinfo, clock=clock, **options)
    return verifier.check(realm.token({"exp": expires}), expected_sub="sub-ada")


@pytest.mark.parametrize("userinfo", [False, True], ids=["verified", "read before userinfo"])
@pytest.mark.parametrize("offset", [-1.0, LEEWAY - 0.5, LEEWAY])
def test_a_token_within_the_leeway_of_its_exp_is_accepted(idp, userinfo, offset):
    facts = check_at(idp, offset, userinfo=userinfo)
    assert (facts.userinfo if userinfo else facts.access_token_claims)["sub"] == "sub-ada"


@pytest.mark.parametrize("userinfo", [False, True], ids=["verified", "read before userinfo"])
@pytest.mark.parametrize("offset", [LEEWAY + 0.5, 3600.0])
def test_a_token_past_the_leeway_is_refused_and_costs_no_userinfo_call(idp, userinfo, offset):
    with pytest.raises(AccessTokenError, match="ExpiredSignatureError"):
        check_at(idp, offset, userinfo=userinfo)
    assert idp.count("/userinfo") == 0


@pytest.mark.parametrize("userinfo", [False, True], ids=["verified", "read before userinfo"])
def test_the_leeway_is_a_setting(idp, userinfo):
    facts = check_at(idp, 5.0, userinfo=userinfo, leeway=10.0)
    assert (facts.userinfo if userinfo else facts.access_token_claims)["sub"] == "sub-ada"
    with pytest.raises(AccessTokenError, match="ExpiredSignatureError"):
        check_at(idp, 5.0, userinfo=userinfo, leeway=0.0)


def test_only_the_spelled_out_any_audience_needs_userinfo(idp):
    """An audience that merely sorts near ``"*"`` (``"#ops"``, ``")"``) is an ordinary one."""
    for audience in ("#ops", ")", "+app"):
        assert IdpVerifier(idp.issuer, audience=audience).audience == audience
