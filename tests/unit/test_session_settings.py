"""The settings story: settings given to get_alb_user(...) hold for every later call of the run and the
session, with no environment and no secrets; the same headers are verified once."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth.session import SETTINGS_KEY
from streamlit_alb_auth.testing import click_logout, signed_in

PROLOGUE = """
import streamlit as st
from streamlit_alb_auth import get_alb_user, logout_button, navigation, Page, require_groups, session_guard

calls = st.session_state.setdefault("provider_calls", [])

def groups(user):
    calls.append(user.sub)
    return ["admin", "from-provider"]

user = get_alb_user(groups_provider=groups, **{settings!r})
"""


@pytest.fixture
def settings_only():
    """Signed in, but the package told nothing: the page passes every setting itself."""
    with signed_in(email="ada@example.com", groups=["analyst"]) as session:
        for variable in [name for name in os.environ if name.startswith("ALB_AUTH_")]:
            del os.environ[variable]  # signed_in restores the environment on leaving
        yield dict(session.settings)


def _run(settings: dict, body: str) -> AppTest:
    script = PROLOGUE.format(settings=settings) + body
    return AppTest.from_string(script, default_timeout=30).run()


def test_without_the_story_the_environment_alone_is_not_configured(settings_only):
    at = AppTest.from_string("from streamlit_alb_auth import get_alb_user\nget_alb_user()\n").run()
    assert "check the load balancer ARN" in at.error[0].value  # the refusal the story prevents


def test_require_groups_uses_the_pages_settings_and_provider_and_verifies_once(settings_only):
    at = _run(settings_only, 'require_groups("from-provider")\nst.markdown("in")\n')
    assert not at.error
    assert at.markdown[0].value == "in"
    assert at.session_state["provider_calls"] == ["user-ada"]  # one verification this run
    at.run()  # a rerun verifies nothing
    assert at.session_state["provider_calls"] == ["user-ada"]


def test_navigation_and_page_use_the_pages_settings(settings_only):
    body = """
def admin():
    st.markdown("admin tools")
navigation([Page(admin, title="Admin", groups=["admin"])]).run()
"""
    at = _run(settings_only, body)
    assert not at.error
    assert at.markdown[0].value == "admin tools"
    assert len(at.session_state["provider_calls"]) == 1


def test_logout_button_and_session_guard_work_after_the_pages_settings(settings_only):
    at = _run(settings_only, "session_guard(interval=30)\nst.write(logout_button())\n")
    assert not at.error
    assert len(at.get("bidi_component")) == 2
    click_logout(at)
    assert at.markdown[-1].value == "`True`"
    assert not at.error  # the rerun after the click verified again under the same settings


def test_later_runs_of_the_session_keep_the_settings(settings_only):
    script = PROLOGUE.format(settings=settings_only).replace(
        "user = get_alb_user(", 'if "seen" not in st.session_state:\n    user = get_alb_user('
    )
    body = 'st.session_state["seen"] = True\nst.markdown(require_groups("admin").email)\n'
    at = AppTest.from_string(script + body, default_timeout=30).run()
    at.run()  # this run passes no settings at all
    assert not at.error
    assert at.markdown[0].value == "ada@example.com"
    assert at.session_state[SETTINGS_KEY]["alb_arn"] == settings_only["alb_arn"]


def test_a_later_call_with_its_own_settings_replaces_them(settings_only):
    other = {**settings_only, "alb_arn": settings_only["alb_arn"].replace("local-alb", "other-alb")}
    at = _run(settings_only, f"get_alb_user(**{other!r})\n")
    assert "could not be verified (SignerNotAllowedError)" in at.error[0].value
    assert at.session_state[SETTINGS_KEY]["alb_arn"] == other["alb_arn"]


def test_no_token_is_kept_in_the_session(settings_only):
    at = _run(settings_only, "")
    assert at.session_state[SETTINGS_KEY]["client_id"] == settings_only["client_id"]
    stored = repr([at.session_state[key] for key in at.session_state])
    assert "eyJ" not in stored  # every JWT (the ALB's and the access token) starts so


def test_every_entry_point_that_verifies_takes_the_same_settings_by_the_same_names():
    import inspect

    from streamlit_alb_auth import authenticate_headers, get_alb_user
    from streamlit_alb_auth.asgi import alb_auth
    from streamlit_alb_auth.config import ARGUMENT_ONLY, SETTING_NAMES
    from streamlit_alb_auth.errors import ConfigurationError

    named = set(inspect.signature(get_alb_user).parameters) - {"deprecated_positional", "required", "headers"}
    door_only = {name for name in SETTING_NAMES if name.startswith("bearer_")}  # machine clients, alb_auth
    assert named == {*SETTING_NAMES, *ARGUMENT_ONLY} - door_only
    for entry in (alb_auth, authenticate_headers):
        with pytest.raises(ConfigurationError, match="unknown setting"):
            entry({}, alb_ar="x") if entry is authenticate_headers else entry(alb_ar="x")
