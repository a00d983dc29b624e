"""Property: whatever arrives in x-amzn-oidc-data, the verifier returns claims or raises AlbAuthError."""

from __future__ import annotations

import json
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamlit_alb_auth.errors import AlbAuthError
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.testing import LocalAlbSigner, LocalKeyServer, padded_b64url
from streamlit_alb_auth.verify import AlbJwtVerifier

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
