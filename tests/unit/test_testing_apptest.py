"""testing.signed_in()/signed_out(): AppTest runs as a chosen user through the real verification path,
with nothing left behind."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import requests
from streamlit.runtime import context as st_context
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth.authenticate import authenticator_for
from streamlit_alb_auth.testing import click_logout, signed_in, signed_out

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
SHOW_USER = """
import streamlit as st
from streamlit_alb_auth import get_alb_user
user = get_alb_user()
st.markdown(f"{user.email} {sorted(user.groups)}")
"""


def _run(script: str) -> AppTest:
    return AppTest.from_string(script, default_timeout=30).run()


def test_groups_through_a_user_pools_access_token_are_verified_against_its_jwks():
    with signed_in(email="ops@example.com", groups=["admin", "ops"]) as session:
        at = _run(SHOW_USER)
        assert session.keys.fetches(session.signer.kid) == 1  # the ALB key really was fetched
        assert "/jwks.json" in session.keys.requests
    assert at.markdown[0].value == "ops@example.com ['admin', 'ops']"


@pytest.mark.parametrize("groups_claim", [None, "realm_access.roles"])
def test_groups_through_a_generic_oidc_issuer_use_its_discovery(groups_claim):
    with signed_in(email="kc@example.com", groups=["admin"], provider="oidc", groups_claim=groups_claim) as s:
        at = _run(SHOW_USER)
        assert "/oidc/.well-known/openid-configuration" in s.keys.requests
    assert s.settings["oidc_issuer"].startswith("http://127.0.0.1:")
    assert at.markdown[0].value == "kc@example.com ['admin']"


def test_without_a_provider_the_user_has_no_groups_and_asking_for_some_is_refused():
    with signed_in(email="a@example.com", provider=None):
        at = _run(SHOW_USER)
    assert at.markdown[0].value == "a@example.com []"
    with pytest.raises(ValueError, match="provider"), signed_in(groups=["admin"], provider=None):
        pass


@pytest.mark.parametrize(
    ("options", "error"),
    [({"expired": True}, "TokenExpiredError"), ({"forged": True}, "InvalidSignatureError")],
)
def test_expired_and_forged_tokens_reach_the_pages_error(options, error):
    with signed_in(email="eve@example.com", groups=["admin"], **options):
        at = _run(SHOW_USER)
    assert f"could not be verified ({error})" in at.error[0].value
    assert not at.markdown


def test_signed_out_is_the_missing_header_path_not_a_configuration_error():
    with signed_out():
        at = _run(SHOW_USER + "\n")
    assert "No x-amzn-oidc-data header" in at.error[0].value


def test_nothing_is_left_behind(monkeypatch):
    monkeypatch.setenv("ALB_AUTH_USERINFO_URL", "https://kept.example")
    original = st_context._get_client_context
    with signed_in(groups=["admin"]) as session:
        assert "ALB_AUTH_USERINFO_URL" not in os.environ  # the block's settings only
        assert os.environ["ALB_AUTH_ALB_ARN"] == session.settings["alb_arn"]
        assert st_context._get_client_context is not original
        _run(SHOW_USER)
        assert authenticator_for.cache_info().currsize == 1
    assert os.environ["ALB_AUTH_USERINFO_URL"] == "https://kept.example"
    assert [name for name in os.environ if name.startswith("ALB_AUTH_")] == ["ALB_AUTH_USERINFO_URL"]
    assert st_context._get_client_context is original
    assert authenticator_for.cache_info().currsize == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(session.keys.alb_key_url + "/" + session.signer.kid, timeout=5)
    at = _run(SHOW_USER)  # outside the block: no headers reach the page
    assert not at.markdown


def test_outside_apptest_the_lookup_is_streamlits_own():
    with signed_in():
        assert st_context._get_client_context() is None  # no script run: Streamlit's answer


def test_blocks_do_not_nest():
    with signed_in(), pytest.raises(RuntimeError, match="nest"), signed_out():
        pass
    with signed_out():  # the refused inner block left the outer one's lock released
        pass


def test_navigation_with_gated_pages_and_switch_page(tmp_path):
    (tmp_path / "views").mkdir()
    (tmp_path / "views" / "home.py").write_text("import streamlit as st\nst.markdown('home')\n")
    (tmp_path / "views" / "admin.py").write_text("import streamlit as st\nst.markdown('admin tools')\n")
    entry = tmp_path / "app.py"
    entry.write_text(
        textwrap.dedent(
            """
            from streamlit_alb_auth import Page, navigation
            navigation([Page("views/home.py", title="Home"), Page("views/admin.py", title="Admin",
                        groups=["admin"])]).run()
            """
        )
    )
    with signed_in(groups=["analyst"]):
        at = AppTest.from_file(str(entry), default_timeout=30).run()
        assert at.markdown[0].value == "home"
        # The gated script is never handed to Streamlit for an outsider, so AppTest cannot find it
        # (in the app, Streamlit refuses st.switch_page to it the same way).
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page("views/admin.py")
    with signed_in(groups=["admin"]):
        at = AppTest.from_file(str(entry), default_timeout=30).run()
        at.switch_page("views/admin.py").run()
    assert at.markdown[0].value == "admin tools"


def test_a_logout_button_click_forgets_the_user():
    script = SHOW_USER + "from streamlit_alb_auth import logout_button\nst.write(logout_button())\n"
    with signed_in(email="ada@example.com"):
        at = _run(script)
        assert at.markdown[-1].value == "`False`"
        click_logout(at)
        assert at.markdown[-1].value == "`True`"
        with pytest.raises(LookupError):
            click_logout(_run(SHOW_USER))


def test_the_documented_example_fails_when_the_page_stops_checking_groups(tmp_path):
    for name in ("admin_page.py", "test_admin_page.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    page = tmp_path / "admin_page.py"
    checked = page.read_text()
    assert 'require_groups("admin")\n' in checked
    page.write_text(checked.replace('require_groups("admin")\n', ""))
    spec = importlib.util.spec_from_file_location("mutated_example", tmp_path / "test_admin_page.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    sys.modules.pop("mutated_example", None)
    spec.loader.exec_module(example)
    example.test_an_admin_sees_the_tools()  # still fine for an admin
    with pytest.raises(AssertionError):
        example.test_an_analyst_is_refused()


def test_the_package_and_its_stand_in_never_import_the_helper():
    import subprocess

    code = (
        "import sys, streamlit_alb_auth.devserver.app, streamlit_alb_auth.session, streamlit_alb_auth.asgi;"
        "assert 'streamlit_alb_auth.testing.apptest' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env={**os.environ})


def test_the_apps_own_secrets_do_not_override_the_block():
    production = {
        "alb_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/prod/0123456789ab",
        "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Prod",
        "audience": "production-client",
        "groups_claim": "roles",
    }
    with signed_in(email="ops@example.com", groups=["admin"]):
        at = AppTest.from_string(SHOW_USER, default_timeout=30)
        at.secrets["alb_auth"] = production
        at.run()
    assert at.markdown[0].value == "ops@example.com ['admin']"
