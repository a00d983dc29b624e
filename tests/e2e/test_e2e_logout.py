"""Logout in a real browser: the signed-out page, single-value Lambda mode (a copied cookie, other
browsers and revocation: test_e2e_revocation.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import DevServer, wait_for_app_run
from playwright.sync_api import BrowserContext, Page, expect
from test_e2e_demo import FOOTER, session_cookies, sign_in

from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE

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
    page.on("response", lambda r: hops.append(r.url) if LOGOUT_PATH in r.url else None)
    sign_in(page, single_value_server.base_url, "user@example.com")
    assert session_cookies(context) == [f"{SESSION_COOKIE}-0", f"{SESSION_COOKIE}-1"]

    log_out(page, single_value_server)

    assert session_cookies(context) == []
    logout = single_value_server.base_url + LOGOUT_PATH
    assert hops == [logout, *(f"{logout}?shard={shard}" for shard in (1, 2, 3))]
    assert not opens_the_app(context, single_value_server)


@pytest.fixture(scope="module")
def other_site(dev_server) -> Iterator[str]:
    """A page on another loopback origin (127.0.0.1, the app is on localhost: another site) that
    links and posts to the app's logout path."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    logout = dev_server.base_url + LOGOUT_PATH
    page = (
        f'<!doctype html><title>Win a prize</title><a href="{logout}">Claim your prize</a>'
        f'<form method=post action="{logout}"><button>Claim by form</button></form>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_another_site_cannot_end_the_session_but_the_app_s_logout_button_can(dev_server, other_site, context):
    page = context.new_page()
    sign_in(page, dev_server.base_url, "user@example.com")
    signed_in = session_cookies(context)
    assert signed_in

    for claim in ("link", "button"):  # a top-level navigation, then a form post, from the other site
        page.goto(other_site)
        page.get_by_role(claim, name=re.compile("Claim")).click()
        expect(page).to_have_title("Log out?")  # the confirmation page, nothing more
        assert page.url.startswith(dev_server.base_url + LOGOUT_PATH)
        assert session_cookies(context) == signed_in
        assert opens_the_app(context, dev_server)

    page.goto(dev_server.base_url + "/")
    expect(page.get_by_text(FOOTER)).to_be_visible()
    wait_for_app_run(page)
    log_out(page, dev_server)
    assert session_cookies(context) == []


def test_the_confirmation_page_s_own_button_logs_out(dev_server, other_site, context):
    page = context.new_page()
    sign_in(page, dev_server.base_url, "user@example.com")
    page.goto(other_site)
    page.get_by_role("link", name="Claim your prize").click()
    expect(page).to_have_title("Log out?")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    assert session_cookies(context) == []
