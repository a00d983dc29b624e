"""Pins of the data-token verifier's behaviour (issue 14): size cap, leeway, times, the verified-token cache.

Through ``AlbJwtVerifier`` with a hand-moved clock and a real loopback key server.
"""

from __future__ import annotations

import pytest
from pinning import FakeClock, alb_header, alb_token

from streamlit_alb_auth import errors
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.testing import LocalAlbSigner
from streamlit_alb_auth.verify import AlbJwtVerifier

CLAIMS = {"sub": "sub-ada", "email": "ada@example.com"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> AlbKeyStore:
    return AlbKeyStore(connect_timeout=1.0, read_timeout=1.0, total_timeout=2.0, max_fetches_per_minute=100)


@pytest.fixture
def make_verifier(signer, key_server, store, clock):
    def make(**options: object) -> AlbJwtVerifier:
        return AlbJwtVerifier(
            alb_arn=signer.alb_arn, key_url=key_server.alb_key_url, key_store=store, clock=clock, **options
        )

    return make


# --- the size cap ---------------------------------------------------------------------------------------


def test_the_default_size_cap_is_16_kib_inclusive(signer, make_verifier, clock):
    verifier = make_verifier()
    with pytest.raises(errors.MalformedTokenError) as at_cap:
        verifier.verify("a" * 16 * 1024)
    assert not isinstance(at_cap.value, errors.TokenTooLargeError)
    with pytest.raises(errors.TokenTooLargeError):
        verifier.verify("a" * (16 * 1024 + 1))
    # A real token just under the cap (padded segments grow in steps of 4) verifies.
    token = signer.sign({**CLAIMS, "pad": ""}, now=clock.now)
    token = signer.sign({**CLAIMS, "pad": "x" * ((16 * 1024 - len(token)) * 3 // 4 - 3)}, now=clock.now)
    assert 16 * 1024 - 8 < len(token) <= 16 * 1024
    assert verifier.verify(token)["sub"] == "sub-ada"


def test_a_custom_size_cap_is_inclusive(signer, make_verifier, clock):
    token = signer.sign(CLAIMS, now=clock.now)
    assert make_verifier(max_token_length=len(token)).verify(token)["sub"] == "sub-ada"
    with pytest.raises(errors.TokenTooLargeError):
        make_verifier(max_token_length=len(token) - 1).verify(token)


def test_an_oversized_token_costs_no_key_fetch(signer, make_verifier, key_server, clock):
    token = signer.sign({**CLAIMS, "pad": "x" * 20_000}, now=clock.now)
    with pytest.raises(errors.TokenTooLargeError):
        make_verifier().verify(token)
    assert key_server.fetches() == 0


# --- times and the leeway -------------------------------------------------------------------------------


def test_the_default_leeway_is_30_seconds(signer, make_verifier, clock):
    verifier = make_verifier()
    assert verifier.verify(alb_token(signer, alb_header(signer, exp=clock.now - 29.5), CLAIMS))
    with pytest.raises(errors.TokenExpiredError, match="expired 30 s ago"):
        verifier.verify(alb_token(signer, alb_header(signer, exp=clock.now - 30.4), CLAIMS))
    assert verifier.verify(
        alb_token(signer, alb_header(signer, exp=clock.now + 60), {**CLAIMS, "nbf": clock.now + 29.5})
    )
    with pytest.raises(errors.TokenNotYetValidError, match="another 30 s"):
        verifier.verify(
            alb_token(signer, alb_header(signer, exp=clock.now + 60), {**CLAIMS, "nbf": clock.now + 30.5})
        )


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_a_token_issued_now_or_slightly_ahead_is_accepted(signer, make_verifier, clock, claim):
    verifier = make_verifier()
    for skew in (0, 1, 29):
        claims = {**CLAIMS, claim: int(clock.now) + skew}
        assert verifier.verify(signer.sign(claims, now=clock.now))["sub"] == "sub-ada"
    with pytest.raises(errors.TokenNotYetValidError):
        verifier.verify(signer.sign({**CLAIMS, claim: int(clock.now) + 31}, now=clock.now))


def test_a_custom_leeway_applies_to_exp_and_nbf(signer, make_verifier, clock):
    verifier = make_verifier(leeway=5)
    assert verifier.verify(signer.sign(CLAIMS, now=clock.now - 124, expires_in=120))
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(signer.sign(CLAIMS, now=clock.now - 126, expires_in=120))
    assert verifier.verify(signer.sign({**CLAIMS, "nbf": clock.now + 4}, now=clock.now))
    with pytest.raises(errors.TokenNotYetValidError):
        verifier.verify(signer.sign({**CLAIMS, "nbf": clock.now + 6}, now=clock.now))


def test_the_latest_of_nbf_and_iat_counts(signer, make_verifier, clock):
    verifier = make_verifier()
    for claims in ({"nbf": clock.now, "iat": clock.now + 60}, {"nbf": clock.now + 60, "iat": clock.now}):
        with pytest.raises(errors.TokenNotYetValidError):
            verifier.verify(signer.sign({**CLAIMS, **claims}, now=clock.now))


def test_a_payload_without_exp_uses_the_header_exp(signer, make_verifier, clock):
    verifier = make_verifier()
    fresh = alb_token(signer, alb_header(signer, exp=clock.now + 60), CLAIMS)
    assert verifier.verify(fresh) == CLAIMS
    stale = alb_token(signer, alb_header(signer, exp=clock.now - 60), CLAIMS)
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(stale)


def test_the_earlier_of_header_and_payload_exp_counts(signer, make_verifier, clock):
    verifier = make_verifier()
    header_stale = alb_token(
        signer, alb_header(signer, exp=clock.now - 60), {**CLAIMS, "exp": clock.now + 60}
    )
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(header_stale)
    payload_stale = alb_token(
        signer, alb_header(signer, exp=clock.now + 60), {**CLAIMS, "exp": clock.now - 60}
    )
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(payload_stale)


@pytest.mark.parametrize("where", ["header", "payload"])
@pytest.mark.parametrize("value", ["soon", True, [1], None])
def test_a_time_claim_that_is_not_a_number_is_malformed(signer, make_verifier, clock, where, value):
    header = alb_header(signer, exp=clock.now + 60)
    payload = dict(CLAIMS)
    if where == "header":
        header["exp"] = value
    else:
        payload["nbf"] = value
    token = alb_token(signer, header, payload)
    if value is None and where == "payload":  # an absent-as-null nbf is simply absent
        assert make_verifier().verify(token)["sub"] == "sub-ada"
        return
    with pytest.raises(errors.MalformedTokenError):
        make_verifier().verify(token)


def test_a_header_without_exp_is_malformed(signer, make_verifier, clock):
    header = alb_header(signer, exp=0)
    del header["exp"]
    with pytest.raises(errors.MalformedTokenError):
        make_verifier().verify(alb_token(signer, header, {**CLAIMS, "exp": clock.now + 60}))


def test_a_huge_integer_time_is_malformed(signer, make_verifier, clock):
    token = alb_token(signer, alb_header(signer, exp=clock.now + 60), {**CLAIMS, "iat": 10**400})
    with pytest.raises(errors.MalformedTokenError):
        make_verifier().verify(token)


def test_a_cached_token_is_checked_against_the_clock_each_time(signer, make_verifier, clock):
    verifier = make_verifier()
    token = signer.sign({**CLAIMS, "nbf": clock.now}, now=clock.now, expires_in=60)
    assert verifier.verify(token)
    clock.now += 60 + 31
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(token)


def test_a_cached_token_that_is_not_yet_valid_stays_so(signer, make_verifier, clock):
    verifier = make_verifier()
    token = signer.sign({**CLAIMS, "nbf": clock.now + 20}, now=clock.now, expires_in=600)
    assert verifier.verify(token)
    clock.now -= 20  # the clock stepped back (NTP): the cached token must not be accepted early
    with pytest.raises(errors.TokenNotYetValidError):
        verifier.verify(token)


# --- the verified-token cache: least recently used leaves first -----------------------------------------


def test_the_verified_cache_evicts_the_least_recently_used(signer, make_verifier, store, key_server, clock):
    verifier = make_verifier(verified_cache_size=2)
    tokens = {name: signer.sign({**CLAIMS, "n": name}, now=clock.now) for name in "ABC"}
    verifier.verify(tokens["A"])
    verifier.verify(tokens["B"])
    verifier.verify(tokens["A"])  # A is now the most recently used
    verifier.verify(tokens["C"])  # evicts B
    store.clear()  # from here an uncached token costs a key fetch; a cached one does not
    assert key_server.fetches() == 1
    assert verifier.verify(tokens["A"])["n"] == "A"
    assert verifier.verify(tokens["C"])["n"] == "C"
    assert key_server.fetches() == 1
    assert verifier.verify(tokens["B"])["n"] == "B"
    assert key_server.fetches() == 2


def test_a_rejected_token_is_not_cached(signer, make_verifier, clock, key_server):
    verifier = make_verifier()
    forged = LocalAlbSigner(alb_arn=signer.alb_arn, kid=signer.kid).sign(CLAIMS, now=clock.now)
    for _ in range(2):
        with pytest.raises(errors.InvalidSignatureError):
            verifier.verify(forged)


# --- the kid and ARN syntax (regular expressions) -------------------------------------------------------

GOOD_KID = "0123abcd-4567-89ef-ABCD-0123456789ef"


def kid_variants() -> list[str]:
    """GOOD_KID with one group a character longer or shorter, or one character not hex, or bad dashes."""
    groups = GOOD_KID.split("-")
    variants = []
    for index, group in enumerate(groups):
        for changed in (group + "0", group[:-1], "g" + group[1:]):
            variants.append("-".join([*groups[:index], changed, *groups[index + 1 :]]))
    return [*variants, GOOD_KID.replace("-", ""), GOOD_KID.replace("-", "."), GOOD_KID + "-0", "-" + GOOD_KID]


@pytest.mark.parametrize("kid", kid_variants())
def test_a_kid_must_be_a_uuid_exactly(signer, make_verifier, key_server, clock, kid):
    with pytest.raises(errors.InvalidKidError):
        make_verifier().verify(signer.sign(CLAIMS, header={"kid": kid}, now=clock.now))
    assert key_server.fetches() == 0


def test_a_kid_in_any_hex_case_is_a_uuid(key_server, store, clock):
    upper = LocalAlbSigner(kid=GOOD_KID)
    key_server.add_signer(upper)
    verifier = AlbJwtVerifier(
        alb_arn=upper.alb_arn, key_url=key_server.alb_key_url, key_store=store, clock=clock
    )
    assert verifier.verify(upper.sign(CLAIMS, now=clock.now))["sub"] == "sub-ada"


ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/0123456789abcdef"


@pytest.mark.parametrize(
    "arn",
    [
        ARN,
        ARN.replace("arn:aws:", "arn:aws-cn:").replace("eu-west-1", "cn-north-1"),
        ARN.replace("arn:aws:", "arn:aws-us-gov:").replace("eu-west-1", "us-gov-west-1"),
        ARN.replace("eu-west-1", "ap-southeast-10"),
        ARN.replace("my-alb", "a" * 32),
        ARN.replace("0123456789abcdef", "0" * 32),
        ARN.replace("0123456789abcdef", "f"),
    ],
)
def test_alb_arns_of_every_partition_and_shape_are_accepted(arn):
    assert AlbJwtVerifier(alb_arn=arn).allowed_signers == (arn,)


@pytest.mark.parametrize(
    "arn",
    [
        ARN.replace("arn:aws:", "arn:aws-xx:"),
        ARN.replace("elasticloadbalancing", "elasticloadbalancingx"),
        ARN.replace("eu-west-1", "eu-west"),
        ARN.replace("eu-west-1", "euw-west-1"),
        ARN.replace("eu-west-1", "e-west-1"),
        ARN.replace("eu-west-1", "eu-1"),
        ARN.replace("eu-west-1", "eu--1"),
        ARN.replace("eu-west-1", "eu-west-"),
        ARN.replace("eu-west-1", "eu-west-x"),
        ARN.replace("eu-west-1", "EU-west-1"),
        ARN.replace("123456789012", "12345678901"),
        ARN.replace("123456789012", "1234567890123"),
        ARN.replace("123456789012", "12345678901x"),
        ARN.replace("123456789012", "١٢٣٤٥٦٧٨٩٠١٢"),
        ARN.replace("loadbalancer/app/", "loadbalancer/net/"),
        ARN.replace("my-alb", "a" * 33),
        ARN.replace("my-alb", ""),
        ARN.replace("my-alb", "my_alb"),
        ARN.replace("0123456789abcdef", "0" * 33),
        ARN.replace("0123456789abcdef", ""),
        ARN.replace("0123456789abcdef", "0123456789ABCDEF"),
        ARN.replace("0123456789abcdef", "0123456789abcdeg"),
        ARN + "/extra",
        "x" + ARN,
    ],
)
def test_anything_else_is_not_an_alb_arn(arn):
    with pytest.raises(errors.ConfigurationError):
        AlbJwtVerifier(alb_arn=arn)
