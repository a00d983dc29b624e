"""The demo in a real browser behind the local ALB stand-in: sign in, groups, logout, forged headers."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests
from conftest import wait_for_app_run
from playwright.sync_api import BrowserContext, Page, expect

from streamlit_alb_auth.devserver.config import LOCAL_ALB_ARN
from streamlit_alb_auth.templates.logout_lambda import SESSION_COOKIE
from streamlit_alb_auth.testing import LocalAlbSigner

pytestmark = pytest.mark.e2e

# The README's picture; rewritten only on request, so a test run leaves the checkout clean.
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "demo-signed-in.png"
UPDATE_SCREENSHOT = os.environ.get("UPDATE_DEMO_SCREENSHOT") == "1"
SESSION_SHARD = re.compile(rf"{re.escape(SESSION_COOKIE)}-\d")
FOOTER = "Sign-in, verified identity and logout by streamlit-alb-auth."


def sign_in(page: Page, base_url: str, email: str, path: str = "/") -> None:
    page.goto(base_url + path)
    expect(page).to_have_title(re.compile("Sign in"))
    page.get_by_role("button", name=re.compile(f"Sign in as {re.escape(email)}")).click()
    expect(page.get_by_text(FOOTER)).to_be_visible()
    wait_for_app_run(page)


def session_cookies(context: BrowserContext) -> list[str]:
    return [cookie["name"] for cookie in context.cookies() if SESSION_SHARD.fullmatch(cookie["name"])]


def menu(page: Page) -> list[str]:
    """The page names in the sidebar's navigation menu, once it has rendered."""
    links = page.get_by_test_id("stSidebarNav").get_by_test_id("stSidebarNavLink")
    expect(links.first).to_be_visible()
    # Each link's text is the icon's ligature name, then the title.
    return [text.split()[-1] for text in links.all_inner_texts()]


def test_user_signs_in_and_sees_their_verified_email(dev_server, context):
    page = context.new_page()
    sign_in(page, dev_server.base_url, "user@example.com")
    expect(page.get_by_role("heading", name="Hello, user")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text("user@example.com")).to_be_visible()
    expect(page.get_by_text("Admin area")).to_have_count(0)
    # One page left: Streamlit shows no menu at all, so there is no Admin link to follow.
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    assert session_cookies(context) == [f"{SESSION_COOKIE}-0", f"{SESSION_COOKIE}-1"]
    assert all(c["httpOnly"] for c in context.cookies() if SESSION_SHARD.fullmatch(c["name"]))


def test_the_admin_group_gets_the_admin_page(dev_server, context, tmp_path):
    page = context.new_page()
    sign_in(page, dev_server.base_url, "admin@example.com")
    assert menu(page) == ["Home", "Admin"]
    # The userInfo column is filled from Cognito's endpoint with the access token.
    expect(page.get_by_test_id("stJson").nth(2)).to_contain_text("admin@example.com")
    page.mouse.move(0, 0)
    target = SCREENSHOT if UPDATE_SCREENSHOT else tmp_path / SCREENSHOT.name
    page.screenshot(path=str(target))
    assert target.stat().st_size < 300_000
    open_admin_page(page, dev_server.base_url)


def open_admin_page(page: Page, base_url: str) -> None:
    """Follow the menu's Admin link: the admin page, at /admin."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin area")).to_be_visible()
    assert page.url == base_url + "/admin"


def refused_at_admin_url(page: Page, base_url: str) -> None:
    """Sign in as user@example.com straight to /admin: "not allowed" there, and no menu to follow."""
    sign_in(page, base_url, "user@example.com", path="/admin")
    refusal = page.get_by_test_id("stAlertContentError")
    expect(refusal).to_contain_text('You are not allowed to see the page "Admin"')
    expect(refusal).to_contain_text("members of the admin group")
    expect(page.get_by_role("heading", name="Admin area")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    assert page.url == base_url + "/admin"


def test_the_admin_url_refuses_everyone_else_at_that_url(dev_server, context):
    page = context.new_page()
    refused_at_admin_url(page, dev_server.base_url)
    refusal = page.get_by_test_id("stAlertContentError")
    page.reload()
    expect(page.get_by_text(FOOTER)).to_be_visible()
    wait_for_app_run(page)
    expect(refusal).to_be_visible()
    expect(page.get_by_role("heading", name="Admin area")).to_have_count(0)


def test_sign_in_returns_to_the_requested_path(dev_server, context):
    page = context.new_page()
    sign_in(page, dev_server.base_url, "user@example.com", path="/?from=e2e")
    assert page.url == dev_server.base_url + "/?from=e2e"


def test_logout_expires_the_session_and_cognito_sign_in(dev_server, context):
    page = context.new_page()
    sign_in(page, dev_server.base_url, "user@example.com")
    assert session_cookies(context)
    page.get_by_role("button", name="Log out").click()
    # The Lambda expired the shards and sent us to Cognito's /logout, which sent us to the sign-out
    # URL: the signed-out page, outside sign-in.
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    assert page.url == dev_server.base_url + "/signed-out"
    assert session_cookies(context) == []
    assert "cognito" not in [cookie["name"] for cookie in context.cookies()]
    page.goto(dev_server.base_url + "/")
    expect(page).to_have_title(re.compile("Sign in"))


def test_forged_header_straight_to_streamlit_shows_no_user(dev_server, browser):
    """Right signer ARN and a UUID kid, but another key: the signature check must refuse it."""
    forger = LocalAlbSigner(alb_arn=LOCAL_ALB_ARN)
    headers = forger.headers({"sub": "attacker", "email": "attacker@example.com"})
    context = browser.new_context(extra_http_headers=headers)
    try:
        page = context.new_page()
        page.goto(dev_server.streamlit_url + "/")
        expect(page.get_by_text(re.compile("This is the internal port"))).to_be_visible()
        expect(page.get_by_text(dev_server.base_url + "/", exact=True)).to_be_visible()
        expect(page.get_by_text(re.compile("could not be verified"))).to_be_visible()
        expect(page.get_by_text("attacker@example.com")).to_have_count(0)
    finally:
        context.close()


def test_client_identity_headers_never_pass_the_stand_in(dev_server, browser):
    """A signed-in browser adding its own x-amzn-oidc-* headers still gets its own identity."""
    headers = {"x-amzn-oidc-identity": "attacker", "x-amzn-oidc-data": "forged"}
    context = browser.new_context(extra_http_headers=headers)
    try:
        page = context.new_page()
        sign_in(page, dev_server.base_url, "user@example.com")
        expect(page.get_by_test_id("stSidebar").get_by_text("user@example.com")).to_be_visible()
        expect(page.get_by_text("attacker")).to_have_count(0)
    finally:
        context.close()


def test_health_needs_no_sign_in(dev_server):
    answer = requests.get(dev_server.base_url + "/_stcore/health", allow_redirects=False, timeout=30)
    assert (answer.status_code, answer.text) == (200, "ok")
    page = requests.get(dev_server.base_url + "/", allow_redirects=False, timeout=30)
    assert page.status_code == 302


def test_the_top_level_demo_app_runs_the_multipage_demo(start_dev_server, browser, tmp_path):
    """``streamlit-alb-auth dev demo_app.py`` from a checkout: the pages resolve beside the packaged demo."""
    demo = Path(__file__).resolve().parents[2] / "demo_app.py"
    with start_dev_server(tmp_path, str(demo)) as server:
        context = browser.new_context()
        try:
            page = context.new_page()
            sign_in(page, server.base_url, "admin@example.com")
            assert menu(page) == ["Home", "Admin"]
            open_admin_page(page, server.base_url)
        finally:
            context.close()
