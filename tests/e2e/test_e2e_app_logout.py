"""Logout by the app's own route (``alb_auth()``'s), behind ``dev --logout-by app``, in a real Chromium.

Under ``dev``, an ``st.App`` built with ``alb_auth()`` used to answer its own logout path with
``500 Logout is not configured``: the stand-in gave the app the ALB settings but not the logout's.
Now the app gets the Lambda's variables, as the stack gives them to its tasks with ``LogoutBy=app``,
and ``--logout-by app`` routes the logout path to it as that stack's listener rule does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import DevServer
from playwright.sync_api import BrowserContext, expect

from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE, SHARDS

pytestmark = pytest.mark.e2e
APP = """
import streamlit as st

from streamlit_alb_auth.asgi import alb_auth

app = st.App("main.py", **alb_auth())
"""
MAIN = """
import streamlit as st

from streamlit_alb_auth import logout_button

st.header(f"Signed in: {st.user.get('email')}")
logout_button()
"""
EMAIL = "user@example.com"
ACCESS_TOKEN_SECONDS = 5
SESSION_SHARD = re.compile(rf"{re.escape(SESSION_COOKIE)}-\d")
MISCONFIGURED = re.compile(r"misconfigured|Logout is not configured|must be an https URL|is not set")


@pytest.fixture(scope="module")
def app_logout(start_dev_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    folder = tmp_path_factory.mktemp("app-logout")
    (folder / "app.py").write_text(APP)
    (folder / "main.py").write_text(MAIN)
    # Access tokens of a few seconds: a copied cookie dies when its token is next refreshed, as on an ALB.
    args = ("app.py", "--logout-by", "app", "--access-token-seconds", str(ACCESS_TOKEN_SECONDS))
    with start_dev_server(folder, *args) as server:
        yield server


def signed_in_page(context: BrowserContext, server: DevServer) -> object:
    page = context.new_page()
    page.goto(server.base_url + "/")
    page.get_by_role("button", name=re.compile(f"Sign in as {re.escape(EMAIL)}")).click()
    expect(page.get_by_role("heading", name=f"Signed in: {EMAIL}")).to_be_visible()
    return page


def opens_the_app(context: BrowserContext, server: DevServer) -> bool:
    page = context.new_page()
    page.goto(server.base_url + "/")
    app = page.get_by_role("heading", name=f"Signed in: {EMAIL}")
    sign_in = page.get_by_role("heading", name="Sign in")
    try:
        expect(app.or_(sign_in)).to_be_visible()
    except AssertionError:  # the page loaded, then its token expired before the websocket: not dead yet
        page.close()
        return True
    opened = app.is_visible()
    page.close()
    return opened


def test_the_app_s_own_route_logs_out_and_revokes_through_the_stand_in(app_logout, browser, context):
    page = signed_in_page(context, app_logout)
    copied = [cookie for cookie in context.cookies() if SESSION_SHARD.fullmatch(cookie["name"])]
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    assert page.url == app_logout.base_url + "/signed-out"
    assert [c for c in context.cookies() if SESSION_SHARD.fullmatch(c["name"])] == []
    # Only GlobalSignOut, sent by the app's route with the forwarded access token, ends a copy: once its
    # access token expires, the refresh is refused (without revocation it would be refreshed for ever).
    replay = browser.new_context()
    try:
        replay.add_cookies(copied)
        deadline = time.monotonic() + ACCESS_TOKEN_SECONDS + 180
        while opens_the_app(replay, app_logout):
            assert time.monotonic() < deadline, "a copied cookie outlived its access token after logout"
    finally:
        replay.close()
    assert not MISCONFIGURED.search(app_logout.log.read_text()), app_logout.log.read_text()


def test_the_app_s_own_port_answers_its_logout_route_configured(app_logout):
    """What the review saw on the app's port: a 500 and an error line. Now the route is configured."""
    answer = requests.get(app_logout.streamlit_url + LOGOUT_PATH, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "auth.alb-dev.invalid", "/logout")
    assert parse_qs(location.query)["logout_uri"] == [app_logout.base_url + "/signed-out"]
    expired = [line.split("=", 1)[0] for line in answer.raw.headers.getlist("Set-Cookie")]
    assert expired == [f"{SESSION_COOKIE}-{n}" for n in range(SHARDS)]
    assert not MISCONFIGURED.search(app_logout.log.read_text()), app_logout.log.read_text()
