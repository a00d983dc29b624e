"""logout_button and session_guard in AppTest: what they render, what a click does in Python, and
which paths and settings they refuse."""

from __future__ import annotations

import json
import math
from unittest import mock

import pytest
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.components.v2.component_path_utils import ComponentPathUtils
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth import SESSION_STATE_KEY, AlbAuthError
from streamlit_alb_auth.logout import (
    COMPONENT_NAME,
    GUARD_COMPONENT_NAME,
    UnsafeLogoutPathError,
    check_logout_path,
    guard_data,
    inline_asset,
)
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH

APP = """
import streamlit as st
from streamlit_alb_auth import logout_button, session_guard

if "user_at_start" not in st.session_state:
    st.session_state["{key}"] = "alice"
st.session_state["user_at_start"] = st.session_state.get("{key}")
with st.sidebar if {in_sidebar} else st.container():
    st.session_state["clicked"] = logout_button({args})
{extra}
"""
DEFAULT_GUARD = {"interval": 60.0, "probe": "/_stcore/host-config", "signedOut": None, "explicit": False}


def _app(args: str = "", *, in_sidebar: bool = False, extra: str = "") -> AppTest:
    script = APP.format(key=SESSION_STATE_KEY, args=args, in_sidebar=in_sidebar, extra=extra)
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
        "button": {
            "path": LOGOUT_PATH,
            "label": "Log out",
            "help": None,
            "stretch": False,
            "type": "secondary",
            "icon": "",
        },
        "guard": DEFAULT_GUARD,
    }


def test_renders_in_the_sidebar_with_options():
    at = _app("'Sign out', logout_path='/logout?next=%2F', help='Ends the ALB session'", in_sidebar=True)
    assert not at.exception
    assert not at.main.get("bidi_component")
    (element,) = at.sidebar.get("bidi_component")
    assert _data(element)["button"] == {
        "path": "/logout?next=%2F",
        "label": "Sign out",
        "help": "Ends the ALB session",
        "stretch": False,
        "type": "secondary",
        "icon": "",
    }


@pytest.mark.parametrize("kind", ["primary", "secondary", "tertiary"])
@pytest.mark.parametrize("icon", [":material/logout:", "\U0001f6aa", None])
def test_type_and_icon_as_st_button_takes_them(kind, icon):
    at = _app(f"type={kind!r}, icon={icon!r}, width='stretch'")
    assert not at.exception
    (element,) = at.get("bidi_component")
    button = _data(element)["button"]
    assert (button["type"], button["icon"], button["stretch"]) == (kind, icon or "", True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("type='danger'", "type must be one of"),
        ("type=None", "type must be one of"),
        ("icon=':material/no_such_icon_here:'", "not a valid Material icon"),
        ("icon='https://evil.example/x.png'", "icon"),
        ("icon='door'", "not a valid icon"),
        ("help=42", "help must be a string"),
    ],
)
def test_refuses_bad_type_icon_and_help(args, message):
    at = _app(args)
    assert at.exception
    assert message in at.exception[0].message
    assert not at.get("bidi_component")


def test_guard_can_be_left_out():
    at = _app("guard=False")
    (element,) = at.get("bidi_component")
    assert "guard" not in _data(element)


def test_session_guard_is_its_own_element_of_the_same_component():
    """One component name, so the browser loads one module and runs one guard per tab."""
    at = _app("guard=False", extra="session_guard(interval=0, signed_out_url='/signed-out')")
    assert not at.exception
    button, guard = at.get("bidi_component")
    assert button.proto.component_name == guard.proto.component_name == COMPONENT_NAME
    assert GUARD_COMPONENT_NAME == COMPONENT_NAME
    assert (guard.proto.js_source_path, guard.proto.css_source_path) == ("index.js", "style.css")
    assert _data(guard) == {
        "guard": {
            "interval": 0.0,
            "probe": "/_stcore/host-config",
            "signedOut": "/signed-out",
            "explicit": True,
        }
    }


def test_default_probe_follows_the_base_url_path():
    with mock.patch("streamlit.get_option", return_value="/apps/sales/"):
        data = guard_data(60, None, None, explicit=True)
    assert data["probe"] == "/apps/sales/_stcore/host-config"


@pytest.mark.parametrize("interval", [-1, 0.5, 86_401, math.nan, math.inf, True, "60", None])
def test_refuses_intervals_out_of_range(interval):
    with pytest.raises((TypeError, ValueError), match="interval"):
        guard_data(interval, None, None, explicit=True)


@pytest.mark.parametrize("interval", [0, 1, 2.5, 60, 86_400])
def test_accepts_intervals_in_range(interval):
    assert guard_data(interval, None, None, explicit=True)["interval"] == interval


@pytest.mark.parametrize(
    "probe", ["/_stcore/health", "/_stcore/health/", "/_stcore/health?x=1", "/app/_stcore/health#a"]
)
def test_refuses_the_health_check_as_probe(probe):
    with pytest.raises(ValueError, match="health check"):
        guard_data(60, None, probe, explicit=True)


@pytest.mark.parametrize("field", ["signed_out_url", "probe_path"])
@pytest.mark.parametrize("path", ["//evil.example", "https://evil.example/", "javascript:alert(1)", "/a b"])
def test_session_guard_refuses_paths_that_could_leave_the_origin(field, path):
    at = _app("guard=False", extra=f"session_guard({field}={path!r})")
    assert at.exception
    assert "one leading '/'" in at.exception[0].message


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
    at = _app("logout_path='//evil.example'")
    assert at.exception
    assert "one leading '/'" in at.exception[0].message
    assert any("UnsafeLogoutPathError" in line for line in at.exception[0].stack_trace)
    assert not at.get("bidi_component")


def test_inline_fallback_is_read_as_content_not_as_a_path():
    for name in ("index.js", "style.css"):
        text = inline_asset(name)
        assert ComponentPathUtils.looks_like_inline_content(text)
        assert text.rstrip().endswith(("}", ";"))


@pytest.mark.parametrize(
    ("args", "label", "path"),
    [("'/logout?next=%2F', 'Sign out'", "Sign out", "/logout?next=%2F"), ("'/bye'", "Log out", "/bye")],
)
def test_the_old_path_first_call_still_works_with_a_deprecation_warning(args, label, path):
    script = f"""
import warnings
import streamlit as st
from streamlit_alb_auth import logout_button
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    logout_button({args})
st.session_state["warned"] = [str(w.message) for w in caught if w.category is DeprecationWarning]
"""
    at = AppTest.from_string(script).run(timeout=20)
    assert not at.exception
    (element,) = at.get("bidi_component")
    assert (_data(element)["button"]["label"], _data(element)["button"]["path"]) == (label, path)
    assert any("logout_path=" in message for message in at.session_state["warned"])


def test_a_label_first_call_is_not_mistaken_for_the_old_order():
    at = _app("'Sign out now'")
    (element,) = at.get("bidi_component")
    assert _data(element)["button"]["label"] == "Sign out now"
    assert _data(element)["button"]["path"] == "/cognito/logout"
