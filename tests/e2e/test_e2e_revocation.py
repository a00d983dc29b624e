"""What logout means on each device, in Chromium behind the stand-in, which keeps sessions as the ALB and
Cognito do (``tests/devserver/test_devserver_sessions.py`` holds it to AWS's documents):

* a cookie copied before logout works until its access token expires, then gets the sign-in page;
  with the scope GlobalSignOut needs missing, it lives on, and the logout Lambda's log line says why;
* after logout, "Sign in again" asks for credentials, and would not if the IdP logout were skipped;
* another browser of the user is signed straight back in once its access token expires (the IdP's
  own session there was never ended), unless the ALB asks for prompt=login.

Lifetimes are short (``--access-token-seconds``); a test polls for a lifetime's visible end with a
deadline, never a fixed sleep.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from conftest import DevServer
from playwright.sync_api import Browser, BrowserContext, Route, expect
from test_e2e_demo import FOOTER, SESSION_SHARD, sign_in
from test_e2e_logout import log_out

from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH

pytestmark = pytest.mark.e2e
WINDOW = 25  # seconds: access tokens live this long here (15 minutes in the reference stack)
BROKEN_SCOPE = "openid email profile"  # the scope stack.yaml asked for before: revokes nothing


@pytest.fixture(scope="module")
def short_tokens(start_dev_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with start_dev_server(tmp_path_factory.mktemp("short"), "--access-token-seconds", str(WINDOW)) as server:
        yield server


@pytest.fixture(scope="module")
def scope_missing(start_dev_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    folder = tmp_path_factory.mktemp("scope")
    with start_dev_server(folder, "--scope", BROKEN_SCOPE, "--access-token-seconds", "5") as server:
        yield server


@pytest.fixture(scope="module")
def prompt_login(start_dev_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    folder = tmp_path_factory.mktemp("prompt")
    args = ("--force-sign-in-prompt", "--access-token-seconds", str(WINDOW))
    with start_dev_server(folder, *args) as server:
        yield server


def shown(context: BrowserContext, server: DevServer) -> str:
    """What ``context`` gets at the root: ``"app"`` or ``"sign-in"``; ``"app again"`` when it got the
    app only after a silent trip through the IdP (a new sign-in nobody typed); ``"blank"`` when the
    page loaded but its websocket did not (the access token expired between the two, so the ALB
    refused the websocket: at the very end of the window, as a real ALB would)."""
    page = context.new_page()
    trips: list[str] = []
    page.on("response", lambda r: trips.append(r.url) if "/oauth2/idpresponse" in r.url else None)
    page.goto(server.base_url + "/")
    app, sign_in_page = page.get_by_text(FOOTER), page.get_by_role("heading", name="Sign in")
    try:
        expect(app.or_(sign_in_page)).to_be_visible()
    except AssertionError:
        page.close()
        return "blank"
    result = ("app again" if trips else "app") if app.is_visible() else "sign-in"
    page.close()
    return result


def until(context: BrowserContext, server: DevServer, wanted: str, deadline: float) -> float:
    """Open the app in ``context`` until it shows ``wanted``; the monotonic time it first did."""
    while (seen := shown(context, server)) != wanted:
        assert seen in ("app", "blank"), f"{seen!r} before {wanted!r}"
        assert time.monotonic() < deadline, f"still {seen!r}, never {wanted!r}"
    return time.monotonic()


def copy_of_the_session(browser: Browser, context: BrowserContext) -> BrowserContext:
    """Another browser holding the same session cookies (a stolen cookie, or one copied to a device)."""
    copied = [cookie for cookie in context.cookies() if SESSION_SHARD.fullmatch(cookie["name"])]
    assert len(copied) >= 2
    thief = browser.new_context()
    thief.add_cookies(copied)
    return thief


def test_a_cookie_copied_before_logout_works_until_its_access_token_expires(short_tokens, browser, context):
    page = context.new_page()
    signed_in = time.monotonic()
    sign_in(page, short_tokens.base_url, "user@example.com")
    thief = copy_of_the_session(browser, context)
    try:
        log_out(page, short_tokens)
        if time.monotonic() - signed_in < WINDOW - 3:  # (always, unless the machine is very slow)
            assert shown(thief, short_tokens) == "app", "logout does not reach a copied cookie at once"
        died = until(thief, short_tokens, "sign-in", signed_in + WINDOW + 150)
        assert died - signed_in >= WINDOW - 1, "not before the access token expired"
        print(f"copied cookie lived {died - signed_in:.1f} s after sign-in (access token: {WINDOW} s)")
    finally:
        thief.close()


def test_with_the_scope_missing_the_copy_lives_on_and_the_log_says_why(scope_missing, browser, context):
    page = context.new_page()
    sign_in(page, scope_missing.base_url, "user@example.com")
    thief = copy_of_the_session(browser, context)
    try:
        before = {c["name"]: c["value"] for c in thief.cookies() if SESSION_SHARD.fullmatch(c["name"])}
        log_out(page, scope_missing)
        log = scope_missing.log.read_text(encoding="utf-8", errors="replace")
        [line] = [line for line in log.splitlines() if "GlobalSignOut failed" in line]
        assert "NotAuthorizedException" in line
        assert "lacks the scope aws.cognito.signin.user.admin" in line and "AllowedOAuthScopes" in line
        # Past its access token's 5 s the copy is refreshed (a new cookie), not refused: it lives on.
        deadline = time.monotonic() + 90
        while {c["name"]: c["value"] for c in thief.cookies() if c["name"] in before} == before:
            assert shown(thief, scope_missing) == "app"
            assert time.monotonic() < deadline, "never refreshed"
        assert shown(thief, scope_missing) == "app"
    finally:
        thief.close()


def test_after_logout_sign_in_again_asks_for_credentials(short_tokens, context):
    page = context.new_page()
    sign_in(page, short_tokens.base_url, "user@example.com")
    log_out(page, short_tokens)
    page.get_by_role("link", name="Sign in again").click()
    expect(page).to_have_title(re.compile("Sign in"))
    expect(page.get_by_role("button", name=re.compile("Sign in as user@example.com"))).to_be_visible()


def test_without_the_idp_logout_sign_in_again_would_not_ask(short_tokens, context):
    """The counterfactual: the logout answers as a Lambda that skips the IdP's /logout would (its
    cookies expired, but a redirect straight to the signed-out page)."""
    page = context.new_page()
    sign_in(page, short_tokens.base_url, "user@example.com")

    def skip_idp_logout(route: Route) -> None:
        answer = route.fetch(max_redirects=0)
        assert answer.status == 302 and "/logout?" in answer.headers["location"]
        location = short_tokens.base_url + "/signed-out"
        route.fulfill(response=answer, headers={**answer.headers, "location": location})

    page.route(re.compile(re.escape(short_tokens.base_url) + LOGOUT_PATH), skip_idp_logout)
    log_out(page, short_tokens)
    page.get_by_role("link", name="Sign in again").click()
    expect(page.get_by_text(FOOTER)).to_be_visible()  # straight back in, nobody asked


def test_another_browser_of_the_user_signs_straight_back_in_after_its_access_token(
    short_tokens, browser, context
):
    other = browser.new_context()
    try:
        other_page = other.new_page()
        signed_in = time.monotonic()
        sign_in(other_page, short_tokens.base_url, "user@example.com")
        page = context.new_page()
        sign_in(page, short_tokens.base_url, "user@example.com")
        log_out(page, short_tokens)
        back = until(other, short_tokens, "app again", signed_in + WINDOW + 150)
        assert back - signed_in >= WINDOW - 1
    finally:
        other.close()


def test_prompt_login_closes_the_other_device_gap(prompt_login, browser, context):
    other = browser.new_context()
    try:
        signed_in = time.monotonic()
        sign_in(other.new_page(), prompt_login.base_url, "user@example.com")
        page = context.new_page()
        sign_in(page, prompt_login.base_url, "user@example.com")
        log_out(page, prompt_login)
        asked = until(other, prompt_login, "sign-in", signed_in + WINDOW + 150)
        assert asked - signed_in >= WINDOW - 1
    finally:
        other.close()
