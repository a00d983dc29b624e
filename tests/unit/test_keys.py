"""The ALB key store: what it caches and for how long, and how a flood of junk kids is contained."""

from __future__ import annotations

import base64
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from helpers.pinning import FakeClock, Reply, ScriptedServer, non_loopback_address
from helpers.rawhttp import RawServer, drip

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
        assert time.monotonic() - start < 6  # cut at the 1 s deadline, not after the drip's 10 s


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


# Each check of the key store pinned: each test fails when one check goes missing.
#
# Through public interfaces only (``AlbKeyStore.get``, ``len``, ``clear``, ``AlbJwtVerifier``), against
# real loopback HTTP servers, with a hand-moved clock where time matters.


SIGNERS = [LocalAlbSigner() for _ in range(3)]


PEMS = {name: signer.public_key_pem for name, signer in zip("abc", SIGNERS, strict=True)}


CN_ARN = "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/app/a/0123456789abcdef"


def public_bytes(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def padded_pem(size: int) -> bytes:
    """Key ``a`` followed by newlines to exactly ``size`` bytes: still a valid PEM key."""
    return PEMS["a"] + b"\n" * (size - len(PEMS["a"]))


def quick_store(clock: FakeClock | None = None, **options: object) -> AlbKeyStore:
    options = {"connect_timeout": 1.0, "read_timeout": 1.0, "total_timeout": 2.0, **options}
    if clock is not None:
        options["clock"] = clock
    return AlbKeyStore(**options)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer({f"/{name}": Reply.body(pem) for name, pem in PEMS.items()}) as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_the_rate_limit_window_slides(server, clock):
    store = quick_store(clock, max_fetches_per_minute=2, failure_ttl=10_000.0)
    start = clock.now

    def outcome(name: str) -> type[Exception]:
        with pytest.raises(errors.FetchError) as caught:
            store.get(server.url(f"/missing-{name}"))
        return type(caught.value)

    assert outcome("1") is errors.FetchResponseError
    assert outcome("2") is errors.FetchResponseError
    clock.now = start + 30
    assert outcome("3") is errors.FetchRateLimitedError
    clock.now = start + 59.5
    assert outcome("3") is errors.FetchRateLimitedError
    assert server.count("/missing-3") == 0
    clock.now = start + 60.5  # the first two have left the window
    assert outcome("3") is errors.FetchResponseError  # a rate-limited kid is not remembered as failed
    assert outcome("4") is errors.FetchResponseError
    assert outcome("5") is errors.FetchRateLimitedError
    clock.now = start + 120.4  # 3 and 4 are 59.9 s old: still in the window
    assert outcome("5") is errors.FetchRateLimitedError
    clock.now = start + 120.6
    assert outcome("5") is errors.FetchResponseError
    assert [server.count(f"/missing-{n}") for n in "12345"] == [1, 1, 1, 1, 1]


def test_a_cached_key_is_served_while_the_window_is_full(server, clock):
    store = quick_store(clock, max_fetches_per_minute=1)
    key = store.get(server.url("/a"))
    with pytest.raises(errors.FetchRateLimitedError):
        store.get(server.url("/b"))
    for _ in range(5):
        assert store.get(server.url("/a")) is key
    assert server.count("/a") == 1 and server.count("/b") == 0


def test_a_fetched_key_is_kept_however_much_time_passes(server, clock):
    store = quick_store(clock, max_fetches_per_minute=1)
    key = store.get(server.url("/a"))
    for days in (1, 30, 400):
        clock.now += days * 86_400
        assert store.get(server.url("/a")) is key
    assert server.count("/a") == 1


def test_by_default_ten_unknown_kids_a_minute_are_fetched(server, clock):
    store = AlbKeyStore(clock=clock)
    for n in range(10):
        with pytest.raises(errors.FetchResponseError):
            store.get(server.url(f"/missing-{n}"))
    with pytest.raises(errors.FetchRateLimitedError):
        store.get(server.url("/missing-10"))
    assert server.count("/missing-10") == 0


def test_a_failure_is_remembered_for_failure_ttl_with_its_type(server, clock):
    server.routes["/garbage"] = Reply.body(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    store = quick_store(clock, failure_ttl=10.0)
    start = clock.now
    for when in (start, start + 9.5):
        clock.now = when
        with pytest.raises(errors.InvalidPublicKeyError):
            store.get(server.url("/garbage"))
    assert server.count("/garbage") == 1
    clock.now = start + 10.5
    with pytest.raises(errors.InvalidPublicKeyError):
        store.get(server.url("/garbage"))
    assert server.count("/garbage") == 2


def test_a_failure_is_remembered_for_ten_seconds_by_default(server, clock):
    store = AlbKeyStore(clock=clock)
    start = clock.now
    for when in (start, start + 9.5):
        clock.now = when
        with pytest.raises(errors.FetchResponseError):
            store.get(server.url("/missing"))
    assert server.count("/missing") == 1
    clock.now = start + 10.5
    with pytest.raises(errors.FetchResponseError):
        store.get(server.url("/missing"))
    assert server.count("/missing") == 2


def test_remembered_failures_are_bounded_oldest_forgotten_first(server, clock):
    store = quick_store(clock, max_keys=2, failure_ttl=10_000.0)
    for name in ("x", "y", "z"):
        with pytest.raises(errors.FetchResponseError):
            store.get(server.url(f"/{name}"))
    for name in ("z", "y", "x"):  # asking for x again forgets y: ask for the remembered ones first
        with pytest.raises(errors.FetchResponseError):
            store.get(server.url(f"/{name}"))
    assert [server.count(f"/{name}") for name in ("x", "y", "z")] == [2, 1, 1]


def test_the_key_cache_evicts_the_least_recently_used(server, clock):
    store = quick_store(clock, max_keys=2)
    first_a = store.get(server.url("/a"))
    store.get(server.url("/b"))
    assert store.get(server.url("/a")) is first_a  # a is now the most recently used
    store.get(server.url("/c"))  # evicts b, not a
    assert len(store) == 2
    assert store.get(server.url("/a")) is first_a
    assert server.count("/a") == 1
    assert public_bytes(store.get(server.url("/b"))) == PEMS["b"]
    assert server.count("/b") == 2


def test_each_url_gets_its_own_key(server):
    store = quick_store()
    for name, pem in PEMS.items():
        assert public_bytes(store.get(server.url(f"/{name}"))) == pem


def test_clear_forgets_keys_and_failures(server, clock):
    store = quick_store(clock, failure_ttl=10_000.0)
    store.get(server.url("/a"))
    with pytest.raises(errors.FetchResponseError):
        store.get(server.url("/missing"))
    store.clear()
    assert len(store) == 0
    store.get(server.url("/a"))
    with pytest.raises(errors.FetchResponseError):
        store.get(server.url("/missing"))
    assert (server.count("/a"), server.count("/missing")) == (2, 2)


def test_clear_empties_the_rate_limit_window(server, clock):
    store = quick_store(clock, max_fetches_per_minute=1)
    with pytest.raises(errors.FetchResponseError):
        store.get(server.url("/missing"))
    with pytest.raises(errors.FetchRateLimitedError):
        store.get(server.url("/b"))
    store.clear()
    assert public_bytes(store.get(server.url("/b"))) == PEMS["b"]


@pytest.mark.parametrize("option", ["max_keys", "max_fetches_per_minute", "max_key_bytes"])
def test_the_store_refuses_limits_below_one(option):
    for bad in (0, -1):
        with pytest.raises(errors.ConfigurationError):
            AlbKeyStore(**{option: bad})
    assert AlbKeyStore(**{option: 1}) is not None


@pytest.mark.parametrize("framing", ["content-length", "chunked", "close"])
def test_the_size_cap_is_inclusive_for_every_framing(server, framing):
    body = padded_pem(300)
    framing_options = {"content-length": {}, "chunked": {"chunked": True}, "close": {"length": False}}
    server.routes["/padded"] = Reply(chunks=[body[:100], body[100:]], **framing_options[framing])
    assert public_bytes(quick_store(max_key_bytes=300).get(server.url("/padded"))) == PEMS["a"]
    with pytest.raises(errors.FetchTooLargeError):
        quick_store(max_key_bytes=299).get(server.url("/padded"))


@pytest.mark.parametrize("chunked", [False, True])
def test_the_default_size_cap_is_4096_bytes(server, chunked):
    server.routes["/4096"] = Reply(chunks=[padded_pem(4096)], chunked=chunked)
    server.routes["/4097"] = Reply(chunks=[padded_pem(4097)], chunked=chunked)
    assert public_bytes(AlbKeyStore().get(server.url("/4096"))) == PEMS["a"]
    with pytest.raises(errors.FetchTooLargeError):
        AlbKeyStore().get(server.url("/4097"))


def test_a_key_served_chunked_without_content_length_is_accepted(server):
    server.routes["/chunked"] = Reply(chunks=[PEMS["b"][:50], PEMS["b"][50:]], chunked=True)
    assert public_bytes(quick_store().get(server.url("/chunked"))) == PEMS["b"]


def test_an_endless_chunked_body_stops_at_the_cap(server):
    # A valid key, then newlines without end: only the cap stops it (the text would parse as a key).
    server.routes["/endless"] = Reply(chunks=[PEMS["a"], b"\n" * 1024], repeat=100_000, chunked=True)
    with pytest.raises(errors.FetchTooLargeError):
        quick_store(max_key_bytes=4096).get(server.url("/endless"))


def test_a_declared_length_over_the_cap_is_refused_before_reading(server):
    # The server promises more than the cap but sends a short valid key: refused for the promise alone.
    server.routes["/liar"] = Reply(chunks=[PEMS["a"]], headers={"Content-Length": "5000"})
    with pytest.raises(errors.FetchTooLargeError):
        quick_store(max_key_bytes=4096).get(server.url("/liar"))


def test_a_gzip_encoded_key_is_decoded(server):
    server.routes["/gz"] = Reply(chunks=[PEMS["c"]], gzip=True)
    assert public_bytes(quick_store().get(server.url("/gz"))) == PEMS["c"]


def test_the_cap_counts_decoded_bytes_of_a_gzip_body(server):
    server.routes["/bomb"] = Reply(chunks=[PEMS["a"], b"\n" * 1_000_000], gzip=True)
    with pytest.raises(errors.FetchTooLargeError):
        quick_store(max_key_bytes=4096).get(server.url("/bomb"))


def test_a_trickling_body_meets_the_total_deadline(server):
    # Each chunk arrives well within the read timeout; only the total deadline ends the fetch.
    server.routes["/trickle"] = Reply(chunks=[PEMS["a"][:60], b"\n"], repeat=40, chunked=True, pause=0.1)
    store = AlbKeyStore(connect_timeout=1.0, read_timeout=1.0, total_timeout=1.0)
    with pytest.raises(errors.FetchTimeoutError):
        store.get(server.url("/trickle"))


def pem_with_oid_changed(old: str, new: str) -> bytes:
    der = base64.b64decode(b"".join(PEMS["a"].splitlines()[1:-1]))
    der = der.replace(bytes.fromhex(old), bytes.fromhex(new))
    return b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END PUBLIC KEY-----\n"


@pytest.mark.parametrize(
    ("old", "new"),
    [("2a8648ce3d0201", "2a8648ce3d0209"), ("2a8648ce3d030107", "2a8648ce3d030109")],
    ids=["unknown-key-type", "unknown-curve"],
)
def test_a_key_of_an_algorithm_nobody_supports_is_refused_typed(server, old, new):
    server.routes["/odd-key"] = Reply.body(pem_with_oid_changed(old, new))
    with pytest.raises(errors.InvalidPublicKeyError):
        quick_store().get(server.url("/odd-key"))


def test_store_options_are_keyword_only():
    with pytest.raises(TypeError):
        AlbKeyStore(2)  # type: ignore[misc]


@pytest.mark.parametrize("status", [201, 204, 301, 302, 404, 500])
def test_only_200_is_a_key(server, status):
    server.routes["/odd"] = Reply(chunks=[PEMS["a"]], status=status, headers={"Location": server.url("/a")})
    with pytest.raises(errors.FetchResponseError):
        quick_store().get(server.url("/odd"))
    assert server.count("/a") == 0  # a redirect is never followed


def test_localhost_over_plain_http_is_allowed(server):
    assert public_bytes(quick_store().get(server.url("/a", host="localhost"))) == PEMS["a"]


REFUSED_URLS = [
    "http:///a",
    "https:///a",
    "ftp://127.0.0.1/a",
    "sftp://keys.example.com/a",
    "wss://keys.example.com/a",
    "http://keys.example.com/a",
    "HTTP://keys.example.com/a",
    "http://user:pw@127.0.0.1/a",
    "https://user@keys.example.com/a",
    "http://127.0.0.2:1\\@127.0.0.1:1/a",
    "https://keys.example.com/a b",
    "https://keys.example.com/a#frag",
    "//keys.example.com/a",
    "keys.example.com/a",
    "",
]


ACCEPTED_KEY_URLS = [
    "https://keys.example.com",
    "https://keys.example.com/base/",
    "HTTPS://Keys.Example.com/base",
    "https://keys.example.com:8443/base",
    "http://127.0.0.1:8080/keys",
    "http://localhost:8080/keys",
    "http://[::1]:8080/keys",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_the_store_itself_refuses_urls_that_are_not_https_or_loopback(url):
    with pytest.raises(errors.ConfigurationError):
        quick_store().get(url)


@pytest.mark.parametrize("url", [url for url in REFUSED_URLS if url])
def test_a_key_url_that_is_not_https_or_loopback_is_refused_when_configured(url):
    with pytest.raises(errors.ConfigurationError):
        AlbJwtVerifier(alb_arn=SIGNERS[0].alb_arn, key_url=url)


@pytest.mark.parametrize("url", ACCEPTED_KEY_URLS)
def test_https_and_loopback_key_urls_are_accepted(url):
    assert AlbJwtVerifier(alb_arn=SIGNERS[0].alb_arn, key_url=url).allowed_signers == (SIGNERS[0].alb_arn,)


def test_the_store_refuses_plain_http_to_a_reachable_non_loopback_host():
    address = non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback interface on this machine")
    with ScriptedServer({"/a": Reply.body(PEMS["a"])}, host="0.0.0.0") as open_server:
        with pytest.raises(errors.AlbAuthError):
            quick_store().get(open_server.url("/a", host=address))
        assert open_server.requests == []


@pytest.mark.parametrize(
    ("arn", "base"),
    [
        (CN_ARN, "https://public-keys.auth.elb.cn-north-1.amazonaws.com.cn"),
        (
            "arn:aws-us-gov:elasticloadbalancing:us-gov-east-1:123456789012:loadbalancer/app/a/0123456789abcdef",
            "https://s3-us-gov-east-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-east-1",
        ),
        (
            "arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/a/0123456789abcdef",
            "https://public-keys.auth.elb.eu-central-1.amazonaws.com",
        ),
    ],
)
def test_the_default_key_url_follows_the_partition_and_region(arn, base):
    asked: list[str] = []
    offline_store = AlbKeyStore()

    def ask(url: str) -> object:
        asked.append(url)
        raise errors.FetchUnavailableError("offline test")

    offline_store.get = ask  # type: ignore[method-assign]
    signer = LocalAlbSigner(alb_arn=arn)
    with pytest.raises(errors.FetchUnavailableError):
        AlbJwtVerifier(alb_arn=arn, key_store=offline_store).verify(signer.sign({"sub": "s"}))
    assert asked == [f"{base}/{signer.kid}"]


def _at_once(count: int, call) -> list[object]:
    """``call()`` from ``count`` threads released together; each thread's result or exception."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = []

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(call())
        except Exception as error:
            outcomes.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_threads_asking_for_a_key_being_fetched_wait_for_that_fetch(signer):
    """A slow key server: one fetch, and every waiting thread gets its key (no timeout, no refetch)."""
    with ScriptedServer({f"/{signer.kid}": Reply.body(signer.public_key_pem, delay=0.5)}) as server:
        store = AlbKeyStore()
        outcomes = _at_once(8, lambda: store.get(server.url(f"/{signer.kid}")))
        assert server.count(f"/{signer.kid}") == 1
    numbers = {key.public_numbers() for key in outcomes}  # an exception has no public_numbers: fails here
    assert len(outcomes) == 8 and len(numbers) == 1


def test_threads_waiting_on_a_failed_fetch_get_its_error_not_a_refetch(signer):
    with ScriptedServer({f"/{signer.kid}": Reply.body(b"down", status=503, delay=0.5)}) as server:
        store = AlbKeyStore()
        outcomes = _at_once(8, lambda: store.get(server.url(f"/{signer.kid}")))
        assert server.count(f"/{signer.kid}") == 1
    assert len(outcomes) == 8
    assert all(isinstance(outcome, errors.FetchResponseError) for outcome in outcomes), outcomes
