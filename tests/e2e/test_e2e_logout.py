"""Logout in a real browser: the signed-out page, single-value Lambda mode (a copied cookie, other
browsers and revocation: test_e2e_revocation.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import DevServer, wait_for_app_run
from playwright.sync_api import BrowserContext, Page, expect
from test_e2e_demo import FOOTER, session_cookies, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def single_value_server(start_dev_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with start_dev_server(tmp_path_factory.mktemp("single"), "--lambda-headers", "single") as server:
        yield server


def log_out(page: Page, server: DevServer) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    assert page.url == server.base_url + "/signed-out"


def opens_the_app(context: BrowserContext, server: DevServer) -> bool:
    """Whether ``context`` gets the app (True) or the sign-in page (False) at the root."""
    page = context.new_page()
    page.goto(server.base_url + "/")
    app, sign_in_page = page.get_by_text(FOOTER), page.get_by_role("heading", name="Sign in")
    expect(app.or_(sign_in_page)).to_be_visible()
    opened = app.is_visible()
    page.close()
    return opened


def test_logout_lands_on_the_signed_out_page_and_sign_in_again_works(dev_server, context):
    page = context.new_page()
    sign_in(page, dev_server.base_url, "user@example.com")
    log_out(page, dev_server)
    expect(page).to_have_title("Signed out")
    assert session_cookies(context) == []

    page.get_by_role("link", name="Sign in again").click()
    expect(page).to_have_title(re.compile("Sign in"))
    page.get_by_role("button", name=re.compile("Sign in as user@example.com")).click()
    expect(page.get_by_text(FOOTER)).to_be_visible()
    wait_for_app_run(page)


def test_single_value_lambda_mode_expires_every_shard(single_value_server, context):
    page = context.new_page()
    hops: list[str] = []
    page.on("response", lambda r: hops.append(r.url) if "/cognito/logout" in r.url else None)
    sign_in(page, single_value_server.base_url, "user@example.com")
    assert session_cookies(context) == ["AWSELBAuthSessionCookie-0", "AWSELBAuthSessionCookie-1"]

    log_out(page, single_value_server)

    assert session_cookies(context) == []
    logout = single_value_server.base_url + "/cognito/logout"
    assert hops == [logout, *(f"{logout}?shard={shard}" for shard in (1, 2, 3))]
    assert not opens_the_app(context, single_value_server)
