"""``streamlit run demo_app.py``: the repository's top-level demo, a thin runner of the packaged one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth.devserver import resolve_app

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo_app.py"


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ALB_AUTH_* variables and no secrets: a fresh machine with nothing in front of Streamlit."""
    import os

    for name in [n for n in os.environ if n.startswith(("ALB_AUTH_", "COGNITO_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_the_top_level_demo_without_an_alb_says_what_is_missing_and_how_to_run_it(no_settings):
    at = AppTest.from_file(str(DEMO), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "streamlit-alb-auth demo"
    assert "load balancer ARN" in at.warning[0].value  # what is missing
    assert "local ALB stand-in" in at.markdown[0].value
    assert "streamlit-alb-auth dev" in at.code[0].value


def test_the_top_level_demo_is_thin_and_runs_the_packaged_copy():
    tree = ast.parse(DEMO.read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    # One call: runpy.run_path(DEMO_APP); the pages exist once, in the package.
    assert len(calls) == 2  # run_path(...) and the str(...) around its argument
    assert len(DEMO.read_text().splitlines()) < 20


def test_dev_run_from_the_checkout_picks_the_top_level_demo():
    assert resolve_app(None, REPO) == DEMO
