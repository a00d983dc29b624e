"""logout_button in AppTest: what it renders, what a click does in Python, which paths it refuses."""

from __future__ import annotations

import json

import pytest
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.components.v2.component_path_utils import ComponentPathUtils
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth import AlbAuthError
from streamlit_alb_auth.logout import (
    COMPONENT_NAME,
    UnsafeLogoutPathError,
    _inline,
    check_logout_path,
)
from streamlit_alb_auth.user import SESSION_STATE_KEY

APP = """
import streamlit as st
from streamlit_alb_auth import logout_button

if "user_at_start" not in st.session_state:
    st.session_state["{key}"] = "alice"
st.session_state["user_at_start"] = st.session_state.get("{key}")
with st.sidebar if {in_sidebar} else st.container():
    st.session_state["clicked"] = logout_button({args})
"""


def _app(args: str = "", *, in_sidebar: bool = False) -> AppTest:
    script = APP.format(key=SESSION_STATE_KEY, args=args, in_sidebar=in_sidebar)
    return AppTest.from_string(script, default_timeout=30).run()


def _data(element) -> dict:
    return json.loads(element.proto.json)


def _click(at: AppTest) -> AppTest:
    """Rerun with the trigger the bundle sets on click, sent the way the browser sends it."""
    (element,) = at.get("bidi_component")
    states = at._tree.get_widget_states()
    trigger = states.widgets.add()
    trigger.id = _make_trigger_id(element.proto.id, "events")
    trigger.json_trigger_value = json.dumps([{"event": "logout", "value": True}])
    return at._run(states)


def test_renders_the_packaged_bundle_with_label_and_path():
    at = _app()
    assert not at.exception
    (element,) = at.get("bidi_component")
    assert element.proto.component_name == COMPONENT_NAME
    # Served from asset_dir (the package is installed), so nothing is inlined.
    assert element.proto.js_source_path == "index.js"
    assert element.proto.css_source_path == "style.css"
    assert _data(element) == {
        "path": "/cognito/logout",
        "label": "Log out",
        "help": None,
        "stretch": False,
    }


def test_renders_in_the_sidebar_with_options():
    at = _app("'/logout?next=%2F', 'Sign out', help='Ends the ALB session'", in_sidebar=True)
    assert not at.exception
    assert not at.main.get("bidi_component")
    (element,) = at.sidebar.get("bidi_component")
    assert _data(element) == {
        "path": "/logout?next=%2F",
        "label": "Sign out",
        "help": "Ends the ALB session",
        "stretch": False,
    }


def test_click_forgets_the_session_user_before_the_script_runs():
    at = _app()
    assert at.session_state["user_at_start"] == "alice"
    assert at.session_state["clicked"] is False

    at = _click(at)
    assert not at.exception
    assert at.session_state["user_at_start"] is None
    assert SESSION_STATE_KEY not in at.session_state
    assert at.session_state["clicked"] is True

    # A trigger lasts one run: the next rerun is not another click.
    at.run()
    assert at.session_state["clicked"] is False


def test_rerun_without_click_keeps_the_user():
    at = _app()
    at.run()
    assert at.session_state["user_at_start"] == "alice"
    assert at.session_state[SESSION_STATE_KEY] == "alice"
    assert at.session_state["clicked"] is False


@pytest.mark.parametrize(
    "path",
    [
        "javascript:alert(1)",
        "//evil.example",
        "//evil.example/cognito/logout",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/logout",
        "http:/evil.example",
        "cognito/logout",
        "",
        "/cognito/logout\n",
        "/cognito/\tlogout",
        "/cognito logout",
        "/cognito/logout\x00",
        "/cognito/logout\x7f",
        "/cognito\\logout",
        "/caf\u00e9",
        "/\u2028x",
        " /cognito/logout",
        None,
        b"/cognito/logout",
    ],
)
def test_refuses_paths_that_could_leave_the_origin(path):
    with pytest.raises(UnsafeLogoutPathError) as excinfo:
        check_logout_path(path)
    assert isinstance(excinfo.value, ValueError)
    assert isinstance(excinfo.value, AlbAuthError)
    assert "one leading '/'" in str(excinfo.value)


@pytest.mark.parametrize(
    "path", ["/", "/cognito/logout", "/oauth2/logout?client_id=abc&x=%2F#top", "/a/b;c=d:@!$'()*+,~"]
)
def test_accepts_same_origin_paths(path):
    assert check_logout_path(path) == path


def test_bad_path_raises_before_anything_renders():
    at = _app("'//evil.example'")
    assert at.exception
    assert "one leading '/'" in at.exception[0].message
    assert any("UnsafeLogoutPathError" in line for line in at.exception[0].stack_trace)
    assert not at.get("bidi_component")


def test_inline_fallback_is_read_as_content_not_as_a_path():
    for name in ("index.js", "style.css"):
        text = _inline(name)
        assert ComponentPathUtils.looks_like_inline_content(text)
        assert text.rstrip().endswith(("}", ";"))
