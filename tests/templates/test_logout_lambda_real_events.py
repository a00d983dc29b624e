"""The logout Lambda on real ALB -> Lambda events (fixtures/real-alb/alb_events/, origins in SOURCES.json).

Each event was captured from, or published by, a real ALB target; SOURCES.json says which header mode its
target group had. The Lambda must answer in that mode: ``multiValueHeaders`` for a multi-value event (all
four shards expired at once), ``headers`` with one ``Set-Cookie`` for a single-value one (shard 0, then the
next hop).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.logout_lambda import configured_handler, expired
from helpers.real_alb import REAL

from streamlit_alb_auth.templates.logout_lambda import SESSION_COOKIE, SHARDS

SOURCES = json.loads((REAL / "SOURCES.json").read_text())["files"]
EVENTS = sorted((REAL / "alb_events").glob("*.json"))
COOKIE = SESSION_COOKIE


def mode_of(path: Path) -> str:
    return SOURCES[f"alb_events/{path.name}"]["mode"]


def test_every_event_has_its_origin_and_both_modes_are_covered():
    assert len(EVENTS) == 8
    assert {mode_of(path) for path in EVENTS} == {"single", "multi"}
    for path in EVENTS:
        origin = SOURCES[f"alb_events/{path.name}"]
        assert origin["repo"] and origin["commit"] and origin["copy"] == "verbatim"


@pytest.mark.parametrize("path", EVENTS, ids=lambda path: path.stem)
def test_the_lambda_answers_a_real_event_in_its_header_mode(path, monkeypatch):
    event = json.loads(path.read_text())
    assert ("multiValueHeaders" in event) == (mode_of(path) == "multi")
    answer = configured_handler(monkeypatch)(event, None)
    assert answer["statusCode"] == 302 and answer["isBase64Encoded"] is False
    if mode_of(path) == "multi":
        assert "headers" not in answer
        headers = answer["multiValueHeaders"]
        assert headers["Set-Cookie"] == [expired(f"{COOKIE}-{shard}") for shard in range(SHARDS)]
        assert headers["Location"][0].startswith("https://my-app.auth.eu-west-1.amazoncognito.com/logout?")
    else:
        assert "multiValueHeaders" not in answer
        headers = answer["headers"]
        assert headers["Set-Cookie"] == expired(f"{COOKIE}-0")
        # Real events carry unrelated query strings (e.g. ?query=1234ABCD): they are not a shard number.
        assert headers["Location"] == "?shard=1"
    assert json.dumps(answer)  # the ALB needs JSON


def test_the_answer_has_the_fields_of_the_documented_response(monkeypatch):
    """aws-lambda-go's copy of the response AWS documents: ours uses its fields, in the same types."""
    documented_path = REAL / "alb_responses" / "lambda-go_alb-lambda-target-response.json"
    documented = json.loads(documented_path.read_text())
    event = json.loads((REAL / "alb_events" / "powertools_albMultiValueHeadersEvent.json").read_text())
    answer = configured_handler(monkeypatch)(event, None)
    assert set(answer) <= set(documented)
    for name in answer:
        assert type(answer[name]) is type(documented[name]), name
