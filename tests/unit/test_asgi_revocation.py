"""The logout route's revocation: its own bounded executor, and no GlobalSignOut for junk."""

from __future__ import annotations

import logging
import threading

from streamlit_alb_auth.asgi.revocation import Revocations, revocable

# {"sub": "u", "exp": 4102444800} (the year 2100), unsigned
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1IiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2ln"


def test_revocable_reads_the_shape_only() -> None:
    assert revocable(TOKEN) == ""
    assert revocable(TOKEN, now=4102444800) == "expired"
    assert revocable("a.b") == "not a JWT of sane size"
    assert revocable(TOKEN + "x" * 16384) == "not a JWT of sane size"
    assert revocable("eyJ9.eyJ9.c2ln") == "not a JWT with JSON header and claims"
    assert revocable("W10.W10.c2ln") == "not a JWT with JSON header and claims"  # [] is no object
    assert revocable("e30.eyJleHAiOnRydWV9.c2ln") == "no sub or exp"  # exp: true


def test_a_full_queue_skips_the_revocation_with_one_warning_and_the_calls_stay_bounded(caplog) -> None:
    release, running, calls = threading.Event(), threading.Semaphore(0), []

    def slow_sign_out(url: str, token: str) -> bool:
        calls.append(token)
        running.release()
        release.wait(10)
        return True

    revocations = Revocations(workers=1, queue=1, sign_out=slow_sign_out)
    try:
        first, second = revocations.submit("u", TOKEN), revocations.submit("u", TOKEN)
        assert first is not None and second is not None
        assert running.acquire(timeout=10)  # one call running, one waiting: the limit
        with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
            skipped = [revocations.submit("u", TOKEN) for _ in range(5)]
        assert skipped == [None] * 5
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "1 GlobalSignOut call(s) skipped" in warnings[0]
        release.set()
        assert first.result(10) and second.result(10)
        assert calls == [TOKEN, TOKEN]
        assert revocations.submit("u", TOKEN).result(10)  # room again
    finally:
        release.set()
        revocations.shutdown()


def test_junk_never_reaches_the_executor() -> None:
    calls: list[str] = []
    revocations = Revocations(sign_out=lambda url, token: calls.append(token))
    assert revocations.submit("u", "eyJhbGciOiJub25lIn0.junk.junk") is None
    revocations.shutdown()
    assert calls == []


def test_global_sign_out_runs_on_the_package_s_own_threads_not_asyncio_s_pool() -> None:
    names: list[str] = []
    revocations = Revocations(
        sign_out=lambda url, token: names.append(threading.current_thread().name) or True
    )
    try:
        assert revocations.submit("u", TOKEN).result(10)
    finally:
        revocations.shutdown()
    assert len(names) == 1 and names[0].startswith("alb-auth-revoke")


def test_a_token_the_verifier_refuses_is_not_sent(caplog) -> None:
    from streamlit_alb_auth.errors import AccessTokenError

    class Refusing:
        use_userinfo = False

        def check(self, token: str, *, expected_sub: str) -> None:
            assert expected_sub == "u"
            raise AccessTokenError("access token rejected (InvalidSignatureError)")

    calls: list[str] = []
    revocations = Revocations(Refusing(), sign_out=lambda url, token: calls.append(token) or True)
    try:
        with caplog.at_level(logging.INFO, logger="streamlit_alb_auth"):
            assert revocations.submit("u", TOKEN).result(10) is False
    finally:
        revocations.shutdown()
    assert calls == []
    assert "InvalidSignatureError" in caplog.text and TOKEN not in caplog.text
