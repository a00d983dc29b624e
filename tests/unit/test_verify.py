"""AlbJwtVerifier against a real loopback key server: the happy path and the negative matrix.

Each bad input must raise its own AlbAuthError subclass, and the cheap checks must fail before any
key is fetched (the key server counts requests).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from helpers.pinning import FakeClock, alb_header, alb_token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamlit_alb_auth import errors
from streamlit_alb_auth.errors import AlbAuthError
from streamlit_alb_auth.keys import AlbKeyStore, regional_key_base_url
from streamlit_alb_auth.testing import LocalAlbSigner, LocalKeyServer, padded_b64url
from streamlit_alb_auth.verify import AlbArn, AlbJwtVerifier

CLAIMS = {"sub": "1f0e2d3c-user", "email": "ada@example.com", "username": "ada"}


def _segments(token: str) -> list[str]:
    return token.split(".")


def _json_segment(value: object) -> str:
    return padded_b64url(json.dumps(value).encode())


def _with_header(alb: LocalAlbSigner, changes: dict[str, object]) -> str:
    return alb.sign(CLAIMS, header=changes)


def test_valid_token_returns_claims_and_fetches_the_key_once(verifier, signer, key_server):
    now = time.time()  # both tokens minted in the same second, so their exp is the same
    token = signer.sign(CLAIMS, now=now)
    claims = verifier.verify(token)
    assert claims["email"] == "ada@example.com"
    assert claims["sub"] == CLAIMS["sub"]
    assert verifier.verify(token) == claims
    second = signer.sign(CLAIMS, now=now)
    assert second != token  # a fresh ECDSA signature: a second token, verified with the cached key
    assert verifier.verify(second) == claims
    assert key_server.fetches() == 1


def test_returned_claims_are_a_copy_the_caller_cannot_poison(verifier, signer):
    token = signer.sign(CLAIMS)
    verifier.verify(token)["email"] = "mallory@example.com"
    assert verifier.verify(token)["email"] == "ada@example.com"


def test_forged_signature_with_the_right_kid_and_signer(verifier, signer, key_server):
    impostor = LocalAlbSigner(kid=signer.kid, alb_arn=signer.alb_arn)
    with pytest.raises(errors.InvalidSignatureError):
        verifier.verify(impostor.sign(CLAIMS))
    assert key_server.fetches() == 1


def test_tampered_payload_breaks_the_signature(verifier, signer):
    header, _payload, signature = _segments(signer.sign(CLAIMS))
    forged_payload = _json_segment({**CLAIMS, "email": "root@example.com", "exp": 4102444800})
    with pytest.raises(errors.InvalidSignatureError):
        verifier.verify(f"{header}.{forged_payload}.{signature}")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"alg": "none"}, errors.UnsupportedAlgorithmError),
        ({"alg": "HS256"}, errors.UnsupportedAlgorithmError),
        ({"alg": "RS256"}, errors.UnsupportedAlgorithmError),
        ({"alg": None}, errors.UnsupportedAlgorithmError),
        ({"kid": "../../x"}, errors.InvalidKidError),
        ({"kid": "https://evil.example/key"}, errors.InvalidKidError),
        ({"kid": "%2e%2e%2fsecret"}, errors.InvalidKidError),
        ({"kid": str(uuid.uuid4()) + "\n"}, errors.InvalidKidError),
        ({"kid": 12345}, errors.InvalidKidError),
        ({"kid": None}, errors.InvalidKidError),
        (
            {"signer": "arn:aws:elasticloadbalancing:us-east-1:999999999999:loadbalancer/app/evil/01234567"},
            errors.SignerNotAllowedError,
        ),
        ({"signer": None}, errors.SignerNotAllowedError),
        ({"signer": ["not", "a", "string"]}, errors.SignerNotAllowedError),
        ({"client": "another-client"}, errors.ClientMismatchError),
        ({"client": None}, errors.ClientMismatchError),
        ({"iss": "https://evil.example"}, errors.IssuerMismatchError),
        ({"exp": None}, errors.MalformedTokenError),
        ({"exp": "tomorrow"}, errors.MalformedTokenError),
        ({"exp": True}, errors.MalformedTokenError),
    ],
)
def test_cheap_checks_fail_before_any_fetch(verifier, signer, key_server, changes, error):
    with pytest.raises(error):
        verifier.verify(_with_header(signer, changes))
    assert key_server.fetches() == 0


def test_expired_token(verifier, signer):
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(signer.sign(CLAIMS, expires_in=-120))


def test_expiry_within_leeway_is_accepted(verifier, signer):
    assert verifier.verify(signer.sign(CLAIMS, expires_in=-5))["sub"] == CLAIMS["sub"]


def test_payload_expiry_counts_even_if_header_is_fresh(verifier, signer):
    token = signer.sign({**CLAIMS, "exp": 1_000_000_000})
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(token)


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid_token(verifier, signer, claim):
    import time

    with pytest.raises(errors.TokenNotYetValidError):
        verifier.verify(signer.sign({**CLAIMS, claim: int(time.time()) + 3600}))


def test_cached_token_still_expires(signer, key_server, key_store):
    now = [1_800_000_000.0]
    verifier = AlbJwtVerifier(
        alb_arn=signer.alb_arn, key_url=key_server.alb_key_url, key_store=key_store, clock=lambda: now[0]
    )
    token = signer.sign(CLAIMS, now=now[0], expires_in=60)
    assert verifier.verify(token)["sub"] == CLAIMS["sub"]
    now[0] += 60 + verifier.leeway + 1
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(token)


def _padded_token(signer: LocalAlbSigner) -> str:
    """A token whose header and payload both need '=' padding, so stripping it changes them."""
    for filler in range(64):
        token = signer.sign({**CLAIMS, "x": "y" * filler})
        header, payload, _ = _segments(token)
        if header.endswith("=") and payload.endswith("="):
            return token
    raise AssertionError("no padded token found")


def test_unpadded_segments_are_rejected_even_when_signed_over(verifier, signer, key_server):
    header, payload, _ = _segments(_padded_token(signer))
    unpadded_input = f"{header.rstrip('=')}.{payload.rstrip('=')}"
    token = f"{unpadded_input}.{signer.signature_segment(unpadded_input)}"
    with pytest.raises(errors.MalformedTokenError):
        verifier.verify(token)
    assert key_server.fetches() == 0


@pytest.mark.parametrize("segment_index", [0, 1, 2])
def test_over_padded_segments_are_rejected(verifier, signer, key_server, segment_index):
    segments = _segments(signer.sign(CLAIMS))
    segments[segment_index] += "===="
    with pytest.raises(errors.MalformedTokenError):
        verifier.verify(".".join(segments))
    assert key_server.fetches() == 0


def test_non_canonical_base64_is_rejected(verifier, signer):
    header, payload, signature = _segments(_padded_token(signer))
    # Flip the unused low bits of the last data character: decodes to the same bytes, spelled differently.
    body = header.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = body[:-1] + alphabet[alphabet.index(body[-1]) ^ 1] + header[len(body) :]
    assert base64.urlsafe_b64decode(twin) == base64.urlsafe_b64decode(header)
    with pytest.raises(errors.MalformedTokenError):
        verifier.verify(f"{twin}.{payload}.{signature}")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "not a token",
        "e30.e30=.AA==",
        "é.é.é",
        _json_segment([1, 2, 3]) + "." + _json_segment({}) + "." + padded_b64url(b"\0" * 64),
        padded_b64url(b"\xff\xfe") + "." + _json_segment({}) + "." + padded_b64url(b"\0" * 64),
        padded_b64url(b"[" * 5000) + "." + _json_segment({}) + "." + padded_b64url(b"\0" * 64),
    ],
)
def test_malformed_tokens(verifier, key_server, token):
    with pytest.raises(errors.MalformedTokenError):
        verifier.verify(token)
    assert key_server.fetches() == 0


def test_payload_that_is_not_an_object(verifier, signer, key_server):
    header, _, signature = _segments(signer.sign(CLAIMS))
    with pytest.raises(errors.MalformedTokenError):
        verifier.verify(f"{header}.{_json_segment(['sub'])}.{signature}")
    assert key_server.fetches() == 0


def test_signature_of_the_wrong_length(verifier, signer, key_server):
    header, payload, _ = _segments(signer.sign(CLAIMS))
    with pytest.raises(errors.MalformedTokenError):
        verifier.verify(f"{header}.{payload}.{padded_b64url(b'x' * 72)}")
    assert key_server.fetches() == 0


def test_infinite_expiry_is_malformed(verifier, signer, key_server):
    token = signer.sign(CLAIMS, header={"exp": 10**400})
    with pytest.raises(errors.MalformedTokenError):
        verifier.verify(token)
    assert key_server.fetches() == 0


def test_one_megabyte_header_is_rejected_unparsed(verifier, key_server):
    with pytest.raises(errors.TokenTooLargeError):
        verifier.verify("A" * (1024 * 1024))
    assert key_server.fetches() == 0


def test_non_string_token(verifier):
    with pytest.raises(errors.MalformedTokenError):
        verifier.verify(b"abc.def.ghi")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        ("error", errors.FetchResponseError),
        ("redirect", errors.FetchResponseError),
        ("garbage", errors.InvalidPublicKeyError),
        ("huge", errors.FetchTooLargeError),
        ("slow", errors.FetchTimeoutError),
    ],
)
def test_key_server_failures_are_typed_and_remembered(verifier, signer, key_server, behaviour, error):
    key_server.behaviour = behaviour
    key_server.slow_seconds = 3.0
    token = signer.sign(CLAIMS)
    with pytest.raises(error):
        verifier.verify(token)
    with pytest.raises(error):
        verifier.verify(token)
    assert key_server.fetches() == 1  # the failure is cached briefly; no second request, no redirect followed


def test_unknown_kid_is_a_404(verifier, signer):
    stranger = LocalAlbSigner(alb_arn=signer.alb_arn)
    with pytest.raises(errors.FetchResponseError):
        verifier.verify(stranger.sign(CLAIMS))


def test_key_server_down(signer, key_store):
    with LocalKeyServer(signer) as server:
        url = server.alb_key_url
    verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=url, key_store=key_store)
    with pytest.raises(errors.FetchUnavailableError):
        verifier.verify(signer.sign(CLAIMS))


def test_a_key_on_the_wrong_curve_is_refused(key_store):
    p384 = ec.generate_private_key(ec.SECP384R1())
    signer = LocalAlbSigner()
    signer.public_key_pem = LocalAlbSigner(private_key=p384).public_key_pem  # the server will hand out P-384
    with LocalKeyServer(signer) as server:
        verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=server.alb_key_url, key_store=key_store)
        with pytest.raises(errors.InvalidPublicKeyError):
            verifier.verify(signer.sign(CLAIMS))


def test_64_threads_on_one_new_kid_fetch_once(verifier, signer, key_server):
    tokens = [signer.sign({**CLAIMS, "n": n}) for n in range(64)]
    barrier = threading.Barrier(64)
    results: list[object] = []

    def verify(token: str) -> None:
        barrier.wait()
        results.append(verifier.verify(token)["sub"])

    threads = [threading.Thread(target=verify, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [CLAIMS["sub"]] * 64
    assert key_server.fetches() == 1


def test_a_flood_of_unknown_kids_is_rate_limited(signer, key_server):
    store = AlbKeyStore(max_fetches_per_minute=5, failure_ttl=60)
    verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=key_server.alb_key_url, key_store=store)
    outcomes: dict[type, int] = {}
    for _ in range(200):
        try:
            verifier.verify(signer.sign(CLAIMS, header={"kid": str(uuid.uuid4())}))
        except errors.FetchError as exc:
            outcomes[type(exc)] = outcomes.get(type(exc), 0) + 1
    assert key_server.fetches() == 5
    assert outcomes == {errors.FetchResponseError: 5, errors.FetchRateLimitedError: 195}
    # The real key was not fetched yet and the window is full: it waits too. Once cached, it is unaffected.
    with pytest.raises(errors.FetchRateLimitedError):
        verifier.verify(signer.sign(CLAIMS))


def test_cached_keys_survive_a_flood(signer, key_server):
    store = AlbKeyStore(max_fetches_per_minute=3)
    verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=key_server.alb_key_url, key_store=store)
    verifier.verify(signer.sign(CLAIMS))
    for _ in range(50):
        with pytest.raises(errors.FetchError):
            verifier.verify(signer.sign(CLAIMS, header={"kid": str(uuid.uuid4())}))
    assert verifier.verify(signer.sign({**CLAIMS, "n": 1}))["sub"] == CLAIMS["sub"]
    assert key_server.fetches() == 3


def test_key_cache_is_bounded(signer, key_server):
    store = AlbKeyStore(max_keys=2, max_fetches_per_minute=100)
    signers = [LocalAlbSigner(alb_arn=signer.alb_arn) for _ in range(4)]
    for extra in signers:
        key_server.add_signer(extra)
    verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=key_server.alb_key_url, key_store=store)
    for extra in signers:
        verifier.verify(extra.sign(CLAIMS))
    assert len(store) == 2


def test_several_albs_may_be_allowed(key_server, key_store):
    first = LocalAlbSigner()
    second = LocalAlbSigner(
        alb_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/second/fedcba9876543210"
    )
    key_server.add_signer(first)
    key_server.add_signer(second)
    verifier = AlbJwtVerifier(
        alb_arn=[first.alb_arn, second.alb_arn], key_url=key_server.alb_key_url, key_store=key_store
    )
    assert verifier.verify(first.sign(CLAIMS))["sub"] == verifier.verify(second.sign(CLAIMS))["sub"]


@pytest.mark.parametrize(
    "arn",
    ["", "arn:aws:s3:::bucket", "arn:aws:elasticloadbalancing:us-east-1:123:loadbalancer/app/x/1", None],
)
def test_bad_alb_arn_is_a_configuration_error(arn):
    with pytest.raises(errors.ConfigurationError):
        AlbJwtVerifier(alb_arn=arn)  # type: ignore[arg-type]


def test_no_alb_arn_is_a_configuration_error():
    with pytest.raises(errors.ConfigurationError):
        AlbJwtVerifier(alb_arn=[])


@pytest.mark.parametrize(
    "url",
    ["http://keys.example.com", "ftp://127.0.0.1/keys", "file:///etc/passwd", "https://", "http://[::1"],
)
def test_key_url_must_be_https_or_loopback(signer, url):
    with pytest.raises(errors.ConfigurationError):
        AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=url)


def test_region_and_partition_come_from_the_arn():
    gov = AlbArn.parse(
        "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/a/0123456789abcdef"
    )
    assert (gov.partition, gov.region, gov.account) == ("aws-us-gov", "us-gov-west-1", "123456789012")
    assert regional_key_base_url("eu-west-1") == "https://public-keys.auth.elb.eu-west-1.amazonaws.com"
    assert (
        regional_key_base_url(gov.region, gov.partition)
        == "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1"
    )
    assert (
        regional_key_base_url("us-gov-east-1", "aws-us-gov")
        == "https://s3-us-gov-east-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-east-1"
    )


def test_default_key_url_is_the_signers_region(monkeypatch):
    arn = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:loadbalancer/app/a/0123456789abcdef"
    asked: list[str] = []

    class RecordingStore(AlbKeyStore):
        def get(self, url: str):  # type: ignore[override]
            asked.append(url)
            raise errors.FetchUnavailableError("offline test")

    signer = LocalAlbSigner(alb_arn=arn)
    verifier = AlbJwtVerifier(alb_arn=arn, key_store=RecordingStore())
    with pytest.raises(errors.FetchUnavailableError):
        verifier.verify(signer.sign(CLAIMS))
    assert asked == [f"https://public-keys.auth.elb.ap-south-1.amazonaws.com/{signer.kid}"]


def test_verify_module_does_not_import_streamlit():
    import subprocess
    import sys

    code = (
        "import sys, streamlit_alb_auth.verify, streamlit_alb_auth.keys, streamlit_alb_auth.access_token;"
        "import streamlit_alb_auth.authenticate, streamlit_alb_auth.config, streamlit_alb_auth.user;"
        "from streamlit_alb_auth import AlbAuthError, AlbJwtVerifier;"
        "print('streamlit' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# Each check of the verifier pinned: size cap, leeway, times, the verified-token cache.
#
# Through ``AlbJwtVerifier`` with a hand-moved clock and a real loopback key server.


SHORT_CLAIMS = {"sub": "sub-ada", "email": "ada@example.com"}


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


def test_the_default_size_cap_is_16_kib_inclusive(signer, make_verifier, clock):
    verifier = make_verifier()
    with pytest.raises(errors.MalformedTokenError) as at_cap:
        verifier.verify("a" * 16 * 1024)
    assert not isinstance(at_cap.value, errors.TokenTooLargeError)
    with pytest.raises(errors.TokenTooLargeError):
        verifier.verify("a" * (16 * 1024 + 1))
    # A real token just under the cap (padded segments grow in steps of 4) verifies.
    token = signer.sign({**SHORT_CLAIMS, "pad": ""}, now=clock.now)
    token = signer.sign({**SHORT_CLAIMS, "pad": "x" * ((16 * 1024 - len(token)) * 3 // 4 - 3)}, now=clock.now)
    assert 16 * 1024 - 8 < len(token) <= 16 * 1024
    assert verifier.verify(token)["sub"] == "sub-ada"


def test_a_custom_size_cap_is_inclusive(signer, make_verifier, clock):
    token = signer.sign(SHORT_CLAIMS, now=clock.now)
    assert make_verifier(max_token_length=len(token)).verify(token)["sub"] == "sub-ada"
    with pytest.raises(errors.TokenTooLargeError):
        make_verifier(max_token_length=len(token) - 1).verify(token)


def test_an_oversized_token_costs_no_key_fetch(signer, make_verifier, key_server, clock):
    token = signer.sign({**SHORT_CLAIMS, "pad": "x" * 20_000}, now=clock.now)
    with pytest.raises(errors.TokenTooLargeError):
        make_verifier().verify(token)
    assert key_server.fetches() == 0


def test_the_default_leeway_is_30_seconds(signer, make_verifier, clock):
    verifier = make_verifier()
    assert verifier.verify(alb_token(signer, alb_header(signer, exp=clock.now - 29.5), SHORT_CLAIMS))
    with pytest.raises(errors.TokenExpiredError, match="expired 30 s ago"):
        verifier.verify(alb_token(signer, alb_header(signer, exp=clock.now - 30.4), SHORT_CLAIMS))
    assert verifier.verify(
        alb_token(signer, alb_header(signer, exp=clock.now + 60), {**SHORT_CLAIMS, "nbf": clock.now + 29.5})
    )
    with pytest.raises(errors.TokenNotYetValidError, match="another 30 s"):
        verifier.verify(
            alb_token(
                signer,
                alb_header(signer, exp=clock.now + 60),
                {**SHORT_CLAIMS, "nbf": clock.now + 30.5},
            )
        )


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_a_token_issued_now_or_slightly_ahead_is_accepted(signer, make_verifier, clock, claim):
    verifier = make_verifier()
    for skew in (0, 1, 29):
        claims = {**SHORT_CLAIMS, claim: int(clock.now) + skew}
        assert verifier.verify(signer.sign(claims, now=clock.now))["sub"] == "sub-ada"
    with pytest.raises(errors.TokenNotYetValidError):
        verifier.verify(signer.sign({**SHORT_CLAIMS, claim: int(clock.now) + 31}, now=clock.now))


def test_a_custom_leeway_applies_to_exp_and_nbf(signer, make_verifier, clock):
    verifier = make_verifier(leeway=5)
    assert verifier.verify(signer.sign(SHORT_CLAIMS, now=clock.now - 124, expires_in=120))
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(signer.sign(SHORT_CLAIMS, now=clock.now - 126, expires_in=120))
    assert verifier.verify(signer.sign({**SHORT_CLAIMS, "nbf": clock.now + 4}, now=clock.now))
    with pytest.raises(errors.TokenNotYetValidError):
        verifier.verify(signer.sign({**SHORT_CLAIMS, "nbf": clock.now + 6}, now=clock.now))


def test_the_latest_of_nbf_and_iat_counts(signer, make_verifier, clock):
    verifier = make_verifier()
    for claims in ({"nbf": clock.now, "iat": clock.now + 60}, {"nbf": clock.now + 60, "iat": clock.now}):
        with pytest.raises(errors.TokenNotYetValidError):
            verifier.verify(signer.sign({**SHORT_CLAIMS, **claims}, now=clock.now))


def test_a_payload_without_exp_uses_the_header_exp(signer, make_verifier, clock):
    verifier = make_verifier()
    fresh = alb_token(signer, alb_header(signer, exp=clock.now + 60), SHORT_CLAIMS)
    assert verifier.verify(fresh) == SHORT_CLAIMS
    stale = alb_token(signer, alb_header(signer, exp=clock.now - 60), SHORT_CLAIMS)
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(stale)


def test_the_earlier_of_header_and_payload_exp_counts(signer, make_verifier, clock):
    verifier = make_verifier()
    header_stale = alb_token(
        signer, alb_header(signer, exp=clock.now - 60), {**SHORT_CLAIMS, "exp": clock.now + 60}
    )
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(header_stale)
    payload_stale = alb_token(
        signer, alb_header(signer, exp=clock.now + 60), {**SHORT_CLAIMS, "exp": clock.now - 60}
    )
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(payload_stale)


@pytest.mark.parametrize("where", ["header", "payload"])
@pytest.mark.parametrize("value", ["soon", True, [1], None])
def test_a_time_claim_that_is_not_a_number_is_malformed(signer, make_verifier, clock, where, value):
    header = alb_header(signer, exp=clock.now + 60)
    payload = dict(SHORT_CLAIMS)
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
        make_verifier().verify(alb_token(signer, header, {**SHORT_CLAIMS, "exp": clock.now + 60}))


def test_a_huge_integer_time_is_malformed(signer, make_verifier, clock):
    token = alb_token(signer, alb_header(signer, exp=clock.now + 60), {**SHORT_CLAIMS, "iat": 10**400})
    with pytest.raises(errors.MalformedTokenError):
        make_verifier().verify(token)


def test_a_cached_token_is_checked_against_the_clock_each_time(signer, make_verifier, clock):
    verifier = make_verifier()
    token = signer.sign({**SHORT_CLAIMS, "nbf": clock.now}, now=clock.now, expires_in=60)
    assert verifier.verify(token)
    clock.now += 60 + 31
    with pytest.raises(errors.TokenExpiredError):
        verifier.verify(token)


def test_a_cached_token_that_is_not_yet_valid_stays_so(signer, make_verifier, clock):
    verifier = make_verifier()
    token = signer.sign({**SHORT_CLAIMS, "nbf": clock.now + 20}, now=clock.now, expires_in=600)
    assert verifier.verify(token)
    clock.now -= 20  # the clock stepped back (NTP): the cached token must not be accepted early
    with pytest.raises(errors.TokenNotYetValidError):
        verifier.verify(token)


def test_the_verified_cache_evicts_the_least_recently_used(signer, make_verifier, store, key_server, clock):
    verifier = make_verifier(verified_cache_size=2)
    tokens = {name: signer.sign({**SHORT_CLAIMS, "n": name}, now=clock.now) for name in "ABC"}
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
    forged = LocalAlbSigner(alb_arn=signer.alb_arn, kid=signer.kid).sign(SHORT_CLAIMS, now=clock.now)
    for _ in range(2):
        with pytest.raises(errors.InvalidSignatureError):
            verifier.verify(forged)


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
        make_verifier().verify(signer.sign(SHORT_CLAIMS, header={"kid": kid}, now=clock.now))
    assert key_server.fetches() == 0


def test_a_kid_in_any_hex_case_is_a_uuid(key_server, store, clock):
    upper = LocalAlbSigner(kid=GOOD_KID)
    key_server.add_signer(upper)
    verifier = AlbJwtVerifier(
        alb_arn=upper.alb_arn, key_url=key_server.alb_key_url, key_store=store, clock=clock
    )
    assert verifier.verify(upper.sign(SHORT_CLAIMS, now=clock.now))["sub"] == "sub-ada"


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


# Property: whatever arrives in x-amzn-oidc-data, the verifier returns claims or raises AlbAuthError.


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


HEADER_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["ES256", "none", "HS256", "RS256", ""]) | JSON_VALUES,
        "kid": st.uuids().map(str) | st.text(max_size=40) | JSON_VALUES,
        "signer": st.just(LocalAlbSigner().alb_arn) | st.text(max_size=40),
        "client": JSON_VALUES,
        "iss": JSON_VALUES,
        "exp": st.integers() | st.floats() | JSON_VALUES,
    },
)


SEGMENTS = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=80).map(padded_b64url),
    JSON_VALUES.map(lambda value: padded_b64url(json.dumps(value).encode())),
)


def _check(verifier: AlbJwtVerifier, token: object) -> None:
    try:
        claims = verifier.verify(token)  # type: ignore[arg-type]
    except AlbAuthError:
        return
    assert isinstance(claims, dict)


_SIGNER = LocalAlbSigner()


_SERVER = LocalKeyServer(_SIGNER)


def _verifier() -> AlbJwtVerifier:
    if _SERVER._thread is None:
        _SERVER.start()
    store = AlbKeyStore(max_fetches_per_minute=1000, connect_timeout=0.5, read_timeout=0.5, total_timeout=0.5)
    return AlbJwtVerifier(alb_arn=_SIGNER.alb_arn, key_url=_SERVER.alb_key_url, key_store=store)


FUZZ_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ_SETTINGS
@given(st.text(max_size=300) | st.binary(max_size=100) | st.none() | st.integers())
def test_arbitrary_values(value):
    _check(_verifier(), value)


@FUZZ_SETTINGS
@given(st.lists(SEGMENTS, min_size=1, max_size=5))
def test_arbitrary_segments(segments):
    _check(_verifier(), ".".join(segments))


@FUZZ_SETTINGS
@given(
    HEADER_FIELDS,
    st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5),
    st.binary(min_size=64, max_size=64),
)
def test_structured_tokens_with_hostile_fields(header, payload, signature):
    token = ".".join(
        [
            padded_b64url(json.dumps(header).encode()),
            padded_b64url(json.dumps(payload).encode()),
            padded_b64url(signature),
        ]
    )
    _check(_verifier(), token)


@FUZZ_SETTINGS
@given(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5), st.integers(-(10**6), 10**6))
def test_validly_signed_tokens_with_arbitrary_claims(payload, expires_in):
    token = _SIGNER.sign(payload, expires_in=expires_in, header={"kid": _SIGNER.kid})
    _check(_verifier(), token)


def test_every_unknown_kid_error_is_typed():
    verifier = _verifier()
    for _ in range(20):
        _check(verifier, _SIGNER.sign({"sub": "x"}, header={"kid": str(uuid.uuid4())}))
