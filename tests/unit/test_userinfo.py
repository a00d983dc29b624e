"""``userinfo.UserinfoClient``: one call per token, kept no longer than the token claims to live, a
budget per user, and only an object answering for the same ``sub`` counts.

A real loopback server plays the userinfo endpoint; the client's clock is a fake one, so "a minute
later" and "past the token's exp" are exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.pinning import FakeClock, Reply, ScriptedServer

from streamlit_alb_auth.errors import AccessTokenError, UserinfoError
from streamlit_alb_auth.userinfo import UserinfoClient

# What the docs promise, spelled out here so a changed constant fails a test.
USERINFO_CHECKS_PER_USER = 10
MAX_ANSWER_BYTES = 64 * 1024

PATH = "/userinfo"
ADA = {"sub": "sub-ada", "groups": ["ops"]}


@pytest.fixture
def endpoint() -> Iterator[ScriptedServer]:
    with ScriptedServer({PATH: Reply.body(json.dumps(ADA).encode())}) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client_of(clock: FakeClock, **options: Any) -> UserinfoClient:
    return UserinfoClient(timeout=5.0, ttl=300.0, clock=clock, **options)


def ask(client: UserinfoClient, endpoint: ScriptedServer, token: str, sub: str = "sub-ada", **kw: Any):
    return client.ask(lambda: endpoint.url(PATH), token, expected_sub=sub, expires=kw.get("expires"))


def test_the_endpoint_is_asked_with_the_token_as_a_bearer_and_its_answer_returned(endpoint, clock):
    assert ask(client_of(clock), endpoint, "token-1") == ADA
    sent = endpoint.request_headers[-1]
    assert sent["authorization"] == "Bearer token-1" and sent["accept"] == "application/json"


def test_an_answer_is_kept_per_token_for_the_ttl(endpoint, clock):
    client = client_of(clock)
    for _ in range(3):
        ask(client, endpoint, "token-1")
    assert endpoint.count(PATH) == 1
    ask(client, endpoint, "token-2")
    assert endpoint.count(PATH) == 2
    clock.now += 299
    ask(client, endpoint, "token-1")
    assert endpoint.count(PATH) == 2
    clock.now += 1  # 300 s: the answer's time is up
    ask(client, endpoint, "token-1")
    assert endpoint.count(PATH) == 3
    clock.now += 1
    ask(client, endpoint, "token-2")  # asked at 0 s, unused since: past its time
    assert endpoint.count(PATH) == 4


def test_an_answer_is_never_kept_past_the_tokens_own_exp(endpoint, clock):
    client = client_of(clock)
    ask(client, endpoint, "token-1", expires=clock.now + 10)
    clock.now += 9
    ask(client, endpoint, "token-1", expires=clock.now + 1)
    assert endpoint.count(PATH) == 1
    clock.now += 1
    ask(client, endpoint, "token-1")
    assert endpoint.count(PATH) == 2


def test_a_kept_answer_for_another_user_is_still_refused(endpoint, clock):
    client = client_of(clock)
    ask(client, endpoint, "token-1")
    with pytest.raises(UserinfoError, match="another user"):
        ask(client, endpoint, "token-1", sub="sub-bob")
    assert endpoint.count(PATH) == 1


@pytest.mark.parametrize(
    "answer",
    [{"sub": "sub-bob"}, {"groups": ["ops"]}, ["sub-ada"], "sub-ada", None],
    ids=["another sub", "no sub", "a list", "a string", "null"],
)
def test_only_an_object_for_the_same_sub_counts(endpoint, clock, answer):
    endpoint.routes[PATH] = Reply.body(json.dumps(answer).encode())
    with pytest.raises(UserinfoError):
        ask(client_of(clock), endpoint, "token-1")


def test_one_user_may_start_a_bounded_number_of_calls_a_minute(endpoint, clock):
    client = client_of(clock)
    for n in range(USERINFO_CHECKS_PER_USER):
        ask(client, endpoint, f"junk-{n}")
    with pytest.raises(UserinfoError, match=f"over {USERINFO_CHECKS_PER_USER} userinfo checks"):
        ask(client, endpoint, "junk-over")
    assert endpoint.count(PATH) == USERINFO_CHECKS_PER_USER  # the refused one cost no call
    ask(client, endpoint, "junk-0")  # a kept answer costs nothing, so it is not refused
    endpoint.routes[PATH] = Reply.body(json.dumps({"sub": "sub-bob"}).encode())
    assert ask(client, endpoint, "bobs-token", sub="sub-bob") == {"sub": "sub-bob"}  # others unaffected
    clock.now += 60  # a minute after the first calls: Ada may ask again
    endpoint.routes[PATH] = Reply.body(json.dumps(ADA).encode())
    ask(client, endpoint, "junk-later")
    assert endpoint.count(PATH) == USERINFO_CHECKS_PER_USER + 2


def test_each_call_leaves_the_budget_a_minute_after_it_was_made(endpoint, clock):
    client = client_of(clock)
    for n in range(USERINFO_CHECKS_PER_USER):  # one a second
        ask(client, endpoint, f"junk-{n}")
        clock.now += 1
    clock.now += 55  # 65 s after the first: the first six have left, the last four count
    for n in range(6):
        ask(client, endpoint, f"later-{n}")
    with pytest.raises(UserinfoError):
        ask(client, endpoint, "one-too-many")


def test_calls_just_inside_the_minute_still_count(endpoint, clock):
    client = client_of(clock)
    for n in range(USERINFO_CHECKS_PER_USER):
        ask(client, endpoint, f"junk-{n}")
    clock.now += 59.9
    with pytest.raises(UserinfoError):
        ask(client, endpoint, "junk-over")


def test_kept_answers_are_bounded_least_recently_used_first(endpoint, clock):
    client = client_of(clock, max_answers=2)
    ask(client, endpoint, "token-1")
    ask(client, endpoint, "token-2")
    ask(client, endpoint, "token-1")  # used again: token-2 is now the oldest
    ask(client, endpoint, "token-3")
    assert endpoint.count(PATH) == 3
    ask(client, endpoint, "token-1")
    assert endpoint.count(PATH) == 3
    ask(client, endpoint, "token-2")
    assert endpoint.count(PATH) == 4


def test_as_many_users_as_the_bound_are_all_remembered(endpoint, clock):
    client = client_of(clock, max_users=2)
    for n in range(USERINFO_CHECKS_PER_USER):
        ask(client, endpoint, f"junk-{n}")
    endpoint.routes[PATH] = Reply.body(json.dumps({"sub": "sub-bob"}).encode())
    ask(client, endpoint, "bobs-token", sub="sub-bob")  # two users: Ada's count is kept
    endpoint.routes[PATH] = Reply.body(json.dumps(ADA).encode())
    with pytest.raises(UserinfoError, match="userinfo checks"):
        ask(client, endpoint, "junk-new")


def test_the_users_remembered_for_the_budget_are_bounded(endpoint, clock):
    client = client_of(clock, max_users=2)
    for n in range(USERINFO_CHECKS_PER_USER):
        ask(client, endpoint, f"junk-{n}")
    for sub in ("sub-bob", "sub-cy"):  # two other users push Ada's count out
        endpoint.routes[PATH] = Reply.body(json.dumps({"sub": sub}).encode())
        ask(client, endpoint, f"token-{sub}", sub=sub)
    endpoint.routes[PATH] = Reply.body(json.dumps(ADA).encode())
    assert ask(client, endpoint, "junk-new") == ADA


def test_an_answer_over_the_cap_is_a_userinfo_error(endpoint, clock):
    start = b'{"sub":"sub-ada","pad":"'

    def answer_of(size: int) -> bytes:
        return start + b"x" * (size - len(start) - 2) + b'"}'

    endpoint.routes[PATH] = Reply.body(answer_of(MAX_ANSWER_BYTES))
    assert ask(client_of(clock), endpoint, "at-the-cap")["sub"] == "sub-ada"
    endpoint.routes[PATH] = Reply.body(answer_of(MAX_ANSWER_BYTES + 1))
    with pytest.raises(UserinfoError, match="userinfo refused"):
        ask(client_of(clock), endpoint, "over-the-cap")


def test_a_refusal_is_a_userinfo_error_that_never_names_the_token(endpoint, clock):
    endpoint.routes[PATH] = Reply.body(b'{"error":"invalid_token"}', status=401)
    token = "secret-token-value"
    with pytest.raises(UserinfoError, match="userinfo refused") as refused:
        ask(client_of(clock), endpoint, token)
    assert token not in str(refused.value)


def test_an_unknown_endpoint_is_a_userinfo_error_and_nothing_is_fetched(endpoint, clock):
    def no_endpoint() -> str:
        raise AccessTokenError("the issuer's discovery document names no userinfo_endpoint")

    with pytest.raises(UserinfoError, match="userinfo endpoint unknown"):
        client_of(clock).ask(no_endpoint, "token-1", expected_sub="sub-ada", expires=None)
    assert endpoint.requests == []
