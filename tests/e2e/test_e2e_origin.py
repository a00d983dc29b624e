"""A browser that opens the stand-in as 127.0.0.1 stays on 127.0.0.1: sign-in, cookies and logout."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from streamlit_alb_auth.templates.logout_lambda import SESSION_COOKIE

pytestmark = pytest.mark.e2e


def test_sign_in_and_logout_on_127_0_0_1_never_visit_localhost(dev_server, context):
    origin = dev_server.base_url.replace("//localhost:", "//127.0.0.1:")
    page = context.new_page()
    visited: list[str] = []
    page.on(
        "request", lambda request: visited.append(request.url) if request.is_navigation_request() else None
    )

    page.goto(origin + "/")
    expect(page).to_have_title(re.compile("Sign in"))
    page.get_by_role("button", name=re.compile("Sign in as user@example.com")).click()
    expect(page.get_by_role("heading", name="Hello, user")).to_be_visible()
    assert {cookie["domain"] for cookie in context.cookies()} == {"127.0.0.1"}

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/signed-out|/oauth2/authorize"))
    hosts = {urlsplit(url).hostname for url in visited}
    assert hosts == {"127.0.0.1"}, visited
    assert not [c for c in context.cookies() if c["name"].startswith(SESSION_COOKIE)]
