"""The admin page as four visitors, each verified for real (docs/testing-your-app.md shows this file)."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from streamlit_alb_auth.testing import click_logout, signed_in, signed_out

PAGE = str(Path(__file__).with_name("admin_page.py"))


def test_an_admin_sees_the_tools():
    with signed_in(email="ada@example.com", groups=["admin"]):
        at = AppTest.from_file(PAGE).run()
    assert not at.error
    assert at.markdown[0].value == "Welcome, ada@example.com: here are the admin tools."


def test_an_analyst_is_refused():
    with signed_in(email="ann@example.com", groups=["analyst"]):
        at = AppTest.from_file(PAGE).run()
    assert len(at.error) == 1 and "not allowed" in at.error[0].value
    assert not [md for md in at.markdown if "admin tools" in md.value]


def test_a_visitor_the_alb_did_not_sign_in_is_refused():
    with signed_out():
        at = AppTest.from_file(PAGE).run()
    assert "did not come through an ALB" in at.error[0].value


def test_a_forged_token_is_refused():
    with signed_in(email="eve@example.com", groups=["admin"], forged=True):
        at = AppTest.from_file(PAGE).run()
    assert "could not be verified (InvalidSignatureError)" in at.error[0].value


def test_the_logout_button_signs_out():
    with signed_in(email="ada@example.com", groups=["admin"]):
        at = click_logout(AppTest.from_file(PAGE).run())
    assert "Signing you out..." in [md.value for md in at.sidebar.markdown]
