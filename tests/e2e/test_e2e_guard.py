"""The session guard in a real Chromium behind the local ALB stand-in: two tabs of one browser
(two pages of one context share the cookies), logout in one, the other leaves without any click.

A query parameter sets the guard's interval for each test, so one server serves them all.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = pytest.mark.e2e

APP = """
import streamlit as st
from streamlit_alb_auth import get_alb_user, logout_button, session_guard

user = get_alb_user()
st.header(f"Guarded page of {user.email}")
if "interval" in st.query_params:
    session_guard(
        interval=float(st.query_params["interval"]),
        signed_out_url=st.query_params.get("signed_out"),
    )
logout_button(icon=":material/logout:", help="Ends the session in every tab")
"""
EMAIL = "user@example.com"
HEADING = f"Guarded page of {EMAIL}"
PROBE = "/_stcore/host-config"
SIGN_IN = re.compile("Sign in")
SIGNED_OUT = re.compile("Signed out")  # the stand-in's signed-out page, where a logout ends


@pytest.fixture(scope="module")
def guard_server(start_dev_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    folder = tmp_path_factory.mktemp("guard")
    (folder / "guard_app.py").write_text(APP)
    with start_dev_server(folder, "guard_app.py") as server:
        yield server


def open_signed_in(context: BrowserContext, base_url: str, query: str) -> Page:
    """A tab showing the app; the first one signs in, the next ones ride on its cookies."""
    page = context.new_page()
    page.goto(f"{base_url}/{query}")
    if SIGN_IN.search(page.title()):
        page.get_by_role("button", name=re.compile(f"Sign in as {re.escape(EMAIL)}")).click()
    expect(page.get_by_role("heading", name=HEADING)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    return page


def count_probes(page: Page) -> list[float]:
    """Times at which ``page`` fetched the probe path."""
    times: list[float] = []
    page.on("request", lambda request: times.append(time.monotonic()) if PROBE in request.url else None)
    return times


def expect_signed_out(page: Page, timeout: float) -> None:
    expect(page).to_have_title(SIGN_IN, timeout=timeout * 1000)
    expect(page.get_by_role("heading", name=HEADING)).to_have_count(0)


def test_logout_click_in_one_tab_signs_out_the_other_at_once(guard_server, context):
    """Default settings (a logout_button brings the guard; 60 s interval): the broadcast does it."""
    first = open_signed_in(context, guard_server.base_url, "")
    second = open_signed_in(context, guard_server.base_url, "")
    probes = count_probes(second)
    clicked = time.monotonic()
    first.get_by_role("button", name="Log out").click()
    expect(first).to_have_title(SIGNED_OUT)
    # Far sooner than the 60 s poll: the other tab heard the click, probed until the logout had
    # expired the cookies, then reloaded into the sign-in page.
    expect_signed_out(second, timeout=15)
    assert probes and probes[0] - clicked < 5
    assert not [c for c in context.cookies() if c["name"].startswith("AWSELBAuthSessionCookie")]


def test_polling_signs_out_a_tab_within_the_interval_and_counts_its_requests(guard_server, context):
    """No click anywhere in this browser: the session ends through the logout path directly."""
    interval = 2.0
    watched = open_signed_in(context, guard_server.base_url, f"?interval={interval:g}")
    probes = count_probes(watched)
    window = 10.0
    watched.wait_for_timeout(window * 1000)  # lets Playwright deliver the request events meanwhile
    # Jittered by +/-20% around 2 s: between 4 and 7 probes in 10 s (one poll at a time).
    per_window = len(probes)
    assert 4 <= per_window <= 7, probes
    gaps = [b - a for a, b in itertools.pairwise(probes)]
    assert all(1.4 <= gap <= 2.8 for gap in gaps), gaps
    expect(watched.get_by_role("heading", name=HEADING)).to_be_visible()

    other = context.new_page()
    ended = time.monotonic()
    other.goto(guard_server.base_url + "/cognito/logout")
    expect(other).to_have_title(SIGNED_OUT)
    expect_signed_out(watched, timeout=interval * 1.2 + 5)
    assert time.monotonic() - ended < interval * 1.2 + 5
    # What this means at the default 60 s: the same one probe per interval.
    print(f"guard: {per_window} probes in {window:g} s at interval={interval:g} s; 3600/60 = 60 per hour")


def test_focus_signs_out_a_tab_with_polling_off(guard_server, context):
    watched = open_signed_in(context, guard_server.base_url, "?interval=0")
    probes = count_probes(watched)
    other = context.new_page()
    other.goto(guard_server.base_url + "/cognito/logout")
    expect(other).to_have_title(SIGNED_OUT)
    # Polling is off and nobody clicked in this browser's tabs: the tab stays as it is...
    watched.wait_for_timeout(3000)
    expect(watched.get_by_role("heading", name=HEADING)).to_be_visible()
    assert probes == []
    # ...until it gets the focus back.
    watched.bring_to_front()
    watched.evaluate("window.dispatchEvent(new Event('focus'))")
    expect_signed_out(watched, timeout=10)
    assert len(probes) >= 1


def test_a_blip_is_not_a_logout(guard_server, context):
    """5xx and network errors from the probe leave the tab where it is; it retries later."""
    watched = open_signed_in(context, guard_server.base_url, "?interval=1")
    failures: list[str] = []

    def fail(route) -> None:
        failures.append(route.request.url)
        if len(failures) % 2:
            route.fulfill(status=503, body="busy")
        else:
            route.abort("connectionreset")

    watched.route(f"**{PROBE}", fail)
    watched.wait_for_timeout(8000)
    assert len(failures) >= 2
    # Backing off: 5 s after the first failure, so not one a second.
    assert len(failures) <= 3, failures
    expect(watched.get_by_role("heading", name=HEADING)).to_be_visible()
    assert watched.url.startswith(guard_server.base_url + "/?interval=1")


def test_signed_out_url_is_where_the_tab_goes(guard_server, context):
    watched = open_signed_in(context, guard_server.base_url, "?interval=1&signed_out=/signed-out")
    went: list[str] = []
    watched.on("request", lambda r: went.append(r.url) if r.is_navigation_request() else None)
    context.new_page().goto(guard_server.base_url + "/cognito/logout")
    expect(watched).to_have_title(SIGNED_OUT, timeout=10_000)
    assert went and went[0] == guard_server.base_url + "/signed-out"
    expect(watched.get_by_role("heading", name=HEADING)).to_have_count(0)


def test_one_guard_per_tab_however_many_elements(guard_server, context):
    """The page has a logout_button (which brings a guard) and a session_guard: one poll loop."""
    watched = open_signed_in(context, guard_server.base_url, "?interval=1")
    probes = count_probes(watched)
    watched.wait_for_timeout(6000)
    # Two loops would make about 12 in 6 s.
    assert 3 <= len(probes) <= 8, probes


def test_reconnecting_after_the_session_ended_goes_to_sign_in(guard_server, context):
    """Streamlit's websocket drops after the session ended elsewhere (polling off, no focus change):
    instead of Streamlit's endless reconnect attempts, the tab goes to sign in."""
    sockets = []

    def through(route) -> None:
        sockets.append(route)
        route.connect_to_server()

    watched = open_signed_in(context, guard_server.base_url, "?interval=0")
    watched.route_web_socket(re.compile(r"/_stcore/stream$"), through)
    watched.reload()
    expect(watched.get_by_role("heading", name=HEADING)).to_be_visible()
    assert sockets
    probes = count_probes(watched)
    other = context.new_page()
    other.goto(guard_server.base_url + "/cognito/logout")
    expect(other).to_have_title(SIGNED_OUT)
    watched.wait_for_timeout(1500)
    assert probes == []
    sockets[-1].close(code=1001, reason="load balancer went away")
    expect_signed_out(watched, timeout=15)
    assert probes


def _hide(page: Page) -> None:
    """What the guard sees of a background tab (headless pages all count as visible)."""
    page.evaluate("Object.defineProperty(document, 'hidden', { value: true, configurable: true })")


def test_a_hidden_tab_does_not_poll_but_follows_a_logout_click(guard_server, context):
    hidden = open_signed_in(context, guard_server.base_url, "?interval=1")
    _hide(hidden)
    clicking = open_signed_in(context, guard_server.base_url, "")
    probes = count_probes(hidden)
    hidden.wait_for_timeout(4000)
    # The poll that was already due when it hid finds it hidden and stops.
    assert len(probes) <= 1, probes
    clicking.get_by_role("button", name="Log out").click()
    expect(clicking).to_have_title(SIGNED_OUT)
    expect_signed_out(hidden, timeout=15)


# Before any script of the page runs: which timers are pending (each with the delay it was set for),
# and when the probe path was last fetched.
TIMERS_AND_PROBES = """
(() => {
  const pending = new Map();
  const set = window.setTimeout.bind(window);
  const clear = window.clearTimeout.bind(window);
  window.setTimeout = (fn, ms, ...args) => {
    const run = (...a) => (pending.delete(id), typeof fn === "function" ? fn(...a) : undefined);
    const id = set(run, ms, ...args);
    pending.set(id, Number(ms) || 0);
    return id;
  };
  window.clearTimeout = (id) => (pending.delete(id), clear(id));
  window.__pendingTimers = () => [...pending.values()];
  window.__lastProbe = -1e9;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if (entry.name.includes("/_stcore/host-config")) window.__lastProbe = entry.startTime;
  }).observe({ type: "resource", buffered: true });
})();
"""
POLL_DELAYS_MS = (60_000 * 0.8, 60_000 * 1.2)  # a 60 s poll, jittered by +/-20%


def _polls_pending(page: Page) -> list[float]:
    low, high = POLL_DELAYS_MS
    return [ms for ms in page.evaluate("window.__pendingTimers()") if low <= ms <= high]


def _probes_started_by_one_focus(page: Page) -> int:
    """The guard ignores events within 1 s of a probe: wait until that is past (a condition, usually
    true at once), send one focus event and then a marker request; count the probes in between."""
    page.wait_for_function("() => performance.now() - window.__lastProbe > 1100")
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    marker = "/robots.txt?after-focus"
    with page.expect_request(lambda request: marker in request.url):
        page.evaluate("m => { window.dispatchEvent(new Event('focus')); fetch(m); }", marker)
    return sum(PROBE in url for url in seen[: next(i for i, url in enumerate(seen) if marker in url)])


def test_a_button_and_a_session_guard_run_one_guard_whose_settings_win(guard_server, context):
    """logout_button brings a 60 s guard; session_guard(interval=0) must switch polling off for the
    whole tab, and one focus event must start one probe, not one per element."""
    context.add_init_script(TIMERS_AND_PROBES)
    watched = open_signed_in(context, guard_server.base_url, "?interval=0")
    assert _polls_pending(watched) == []  # two guards: the button's own 60 s poll would be pending
    assert _probes_started_by_one_focus(watched) == 1
    assert _polls_pending(watched) == []  # the probe's answer did not start polling either


def test_the_session_guard_s_signed_out_url_wins_over_the_button_s_reload(guard_server, context):
    """Both elements' guards used to probe on focus, and the button's reload could win the race."""
    watched = open_signed_in(context, guard_server.base_url, "?interval=0&signed_out=/signed-out")
    went: list[str] = []
    watched.on("request", lambda r: went.append(r.url) if r.is_navigation_request() else None)
    other = context.new_page()
    other.goto(guard_server.base_url + "/cognito/logout")
    expect(other).to_have_title(SIGNED_OUT)
    watched.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(watched).to_have_title(SIGNED_OUT, timeout=10_000)
    assert went == [guard_server.base_url + "/signed-out"]
