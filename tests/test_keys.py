"""The ALB key store: what it caches and for how long, and how a flood of junk kids is contained."""

from __future__ import annotations

import contextlib
import time
import uuid

import pytest
from rawhttp import RawServer, drip

from streamlit_alb_auth import errors
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.testing import LocalAlbSigner, LocalKeyServer
from streamlit_alb_auth.verify import AlbJwtVerifier

CLAIMS = {"sub": "user-1", "email": "ada@example.com"}


def test_a_kid_flood_after_an_hour_does_not_lock_out_the_real_key(signer, key_server):
    """Issue 10 item 1: the real key must not be re-fetched through the budget junk kids drain."""
    now = [10_000.0]
    store = AlbKeyStore(max_fetches_per_minute=10, clock=lambda: now[0])
    verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=key_server.alb_key_url, key_store=store)
    assert verifier.verify(signer.sign(CLAIMS))["sub"] == "user-1"
    refused = 0
    for minute in range(120):  # two hours of one junk token a second
        now[0] += 60
        for _ in range(60):
            with contextlib.suppress(errors.FetchError):
                verifier.verify(signer.sign(CLAIMS, header={"kid": str(uuid.uuid4())}))
        try:
            verifier.verify(signer.sign({**CLAIMS, "minute": minute}))
        except errors.FetchError:
            refused += 1
    assert refused == 0
    assert key_server.fetches(signer.kid) == 1


def test_the_budget_is_charged_only_for_unknown_kids(signer, key_server):
    store = AlbKeyStore(max_fetches_per_minute=2)
    verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=key_server.alb_key_url, key_store=store)
    for n in range(50):
        verifier.verify(signer.sign({**CLAIMS, "n": n}))
    assert (store.fetch_count, store.rate_limited_count) == (1, 0)


def test_junk_kids_cannot_evict_the_real_key(signer, key_server):
    store = AlbKeyStore(max_keys=2, max_fetches_per_minute=1000, failure_ttl=0)
    verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=key_server.alb_key_url, key_store=store)
    verifier.verify(signer.sign(CLAIMS))
    for _ in range(20):
        with pytest.raises(errors.FetchResponseError):
            verifier.verify(signer.sign(CLAIMS, header={"kid": str(uuid.uuid4())}))
    verifier.verify(signer.sign({**CLAIMS, "again": True}))
    assert key_server.fetches(signer.kid) == 1


def test_a_remembered_failure_is_retried_after_failure_ttl(signer, key_server):
    now = [0.0]
    store = AlbKeyStore(failure_ttl=10, clock=lambda: now[0])
    verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=key_server.alb_key_url, key_store=store)
    key_server.behaviour = "error"
    for _ in range(3):
        with pytest.raises(errors.FetchResponseError):
            verifier.verify(signer.sign(CLAIMS))
    assert key_server.fetches() == 1
    key_server.behaviour = "ok"
    now[0] += 11
    assert verifier.verify(signer.sign(CLAIMS))["sub"] == "user-1"
    assert key_server.fetches() == 2


def test_a_key_server_dripping_headers_is_cut_off_at_the_deadline():
    """Issue 10 item 4, through the key store: 50 header bytes at 0.2 s would take 10 s."""
    response = b"HTTP/1.1 200 OK\r\nX-Filler: " + b"a" * 50 + b"\r\n\r\n"
    with RawServer(lambda conn: drip(conn, response, 0.2)) as server:
        store = AlbKeyStore(total_timeout=1.0)
        start = time.monotonic()
        with pytest.raises(errors.FetchTimeoutError):
            store.get(f"{server.url}/{uuid.uuid4()}")
        assert time.monotonic() - start < 2.5


def test_an_oversized_key_is_a_typed_error(signer):
    with LocalKeyServer(signer) as server:
        server.behaviour = "huge"
        with pytest.raises(errors.FetchTooLargeError) as raised:
            AlbKeyStore().get(f"{server.alb_key_url}/{signer.kid}")
    assert raised.value.what == "key server"


def test_the_docstring_says_keys_do_not_expire():
    doc = AlbKeyStore.__doc__ or ""
    assert "does not expire" in doc and "never charged" in doc


def test_the_real_alb_key_service_answer_parses():
    """A PEM exactly as the key service serves it (no Content-Type) is accepted."""
    pem = LocalAlbSigner().public_key_pem
    response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(pem), pem)
    with RawServer(lambda conn: conn.sendall(response)) as server:
        assert AlbKeyStore().get(f"{server.url}/{uuid.uuid4()}").curve.name == "secp256r1"


def test_a_failed_key_fetch_says_which_fetch_and_is_the_fetchers_own_error(signer):
    with LocalKeyServer(signer) as server:
        server.behaviour = "error"
        store = AlbKeyStore()
        for _ in range(2):  # fetched, then remembered: the same type and ``what`` both times
            with pytest.raises(errors.FetchResponseError) as raised:
                store.get(f"{server.alb_key_url}/{signer.kid}")
            assert raised.value.what == "key server"


def test_the_old_key_fetch_names_are_deprecated_aliases_of_the_fetch_errors():
    import streamlit_alb_auth

    with pytest.warns(DeprecationWarning, match="FetchResponseError"):
        assert errors.KeyServerResponseError is errors.FetchResponseError
    with pytest.warns(DeprecationWarning, match="FetchError"):
        assert streamlit_alb_auth.KeyFetchError is errors.FetchError
    assert "KeyFetchError" not in streamlit_alb_auth.__all__
