"""Single-value mode's redirect chain: one shard per answer, a strict hop counter, no way off course."""

from __future__ import annotations

import importlib.util

import pytest
from helpers.logout_lambda import (
    EXPECTED_LOCATION,
    LAMBDA_PATH,
    configured_handler,
    cookies_of,
    expired,
    header,
    multi_value_event,
    single_value_event,
)
from hypothesis import given
from hypothesis import strategies as st

from streamlit_alb_auth.templates.logout_lambda import SESSION_COOKIE, SHARDS

SHARD_COOKIES = [expired(f"{SESSION_COOKIE}-{shard}") for shard in range(SHARDS)]
ENV = {
    "AWS_REGION": "eu-west-1",
    "COGNITO_USER_POOL_DOMAIN_PREFIX": "my-app",
    "COGNITO_CLIENT_ID": "4d8g9m2k1q0r7s5t3v6w8x9y1z",
    "APP_LOGOUT_URL": "https://app.example.com/",
}


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch):
    return configured_handler(monkeypatch)


@pytest.fixture(scope="module")
def module():
    spec = importlib.util.spec_from_file_location("index_hops", LAMBDA_PATH)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def follow(configured, first: dict) -> list[dict]:
    """Every answer from ``first`` on, following ``?shard=N`` as a browser resolves it, at most 10."""
    answers = [configured(first, None)]
    while (location := header(answers[-1], "Location")).startswith("?") and len(answers) < 10:
        query = dict(pair.split("=", 1) for pair in location[1:].split("&"))
        answers.append(configured(single_value_event(query), None))
    return answers


def test_single_value_chain_expires_every_shard_then_reaches_the_idp(configured) -> None:
    answers = follow(configured, single_value_event())

    assert [header(answer, "Location") for answer in answers] == [
        "?shard=1",
        "?shard=2",
        "?shard=3",
        EXPECTED_LOCATION,
    ]
    assert [cookies_of(answer) for answer in answers] == [[cookie] for cookie in SHARD_COOKIES]
    assert all(answer["statusCode"] == 302 for answer in answers)


def test_multi_value_mode_ignores_the_hop_counter(configured) -> None:
    for shard in ("1", "3", "abc"):
        response = configured(multi_value_event({"shard": shard}), None)
        assert cookies_of(response) == SHARD_COOKIES
        assert header(response, "Location") == EXPECTED_LOCATION


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "-1",
        "+1",
        " 1",
        "1 ",
        "\uff11",
        "\u0661",
        "0x2",
        "1e2",
        "%31",
        "1.0",
        "2;",
        "0",
        "00",
        "0001",
    ],
)
def test_a_counter_that_is_not_ascii_digits_starts_the_chain_over(configured, value) -> None:
    response = configured(single_value_event({"shard": value}), None)
    assert cookies_of(response) == [SHARD_COOKIES[0]]
    assert header(response, "Location") == "?shard=1"


@pytest.mark.parametrize("value", ["3", "4", "99", "999", "03"])
def test_a_counter_past_the_last_shard_is_clamped_to_it(configured, value) -> None:
    response = configured(single_value_event({"shard": value}), None)
    assert cookies_of(response) == [SHARD_COOKIES[3]]
    assert header(response, "Location") == EXPECTED_LOCATION


def test_other_query_parameters_are_ignored(configured) -> None:
    plain = configured(single_value_event({"shard": "2"}), None)
    hostile = {
        "shard": "2",
        "logout_uri": "https://evil.example/",
        "client_id": "evil",
        "Shard": "0",
        "SHARD": "3",
        "next": "//evil.example",
    }
    assert configured(single_value_event(hostile), None) == plain
    assert header(plain, "Location") == "?shard=3"


@pytest.mark.parametrize("value", [["1", "2"], [], ["2", "2"], None, 2, {"a": "1"}])
def test_repeated_or_non_text_counters_start_over(module, value) -> None:
    plan = module.plan(ENV, {"shard": value}, multi=False)
    assert plan.cookies == [SHARD_COOKIES[0]]
    assert plan.location == "?shard=1"


def test_a_single_listed_counter_is_read(module) -> None:
    assert module.plan(ENV, {"shard": ["2"]}, multi=False).location == "?shard=3"


@given(st.text(max_size=12) | st.from_regex(r"[0-9]{1,6}", fullmatch=True))
def test_every_answer_moves_forward_or_ends_at_the_configured_idp(module, value) -> None:
    plan = module.plan(ENV, {"shard": value}, multi=False)
    (cookie,) = plan.cookies
    expired_shard = SHARD_COOKIES.index(cookie)
    if plan.location.startswith("?"):
        next_shard = int(plan.location.removeprefix("?shard="))
        assert expired_shard < next_shard <= 3
        assert plan.location == f"?shard={next_shard}"
    else:
        assert expired_shard == 3
        assert plan.location == EXPECTED_LOCATION


def test_the_docstring_examples_run(module) -> None:
    import doctest

    result = doctest.testmod(module)
    assert result.attempted >= 3 and result.failed == 0
    assert "plan(env" in module.__doc__
