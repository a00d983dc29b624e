"""The session guard in a real Chromium behind the local ALB stand-in: two tabs of one browser
(two pages of one context share the cookies), logout in one, the other leaves without any click.

A query parameter sets the guard's interval for each test, so one server serves them all.

Timing is read from the browser's own clock (resource timing) and bounded from the side load cannot
break: the guard's timers never fire early, so a loaded machine only makes gaps longer. Waits are for a
number of probes, never for a time; a window of time is used only to show that nothing happens in it.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator

import pytest
from conftest import wait_for_app_run
from playwright.sync_api import BrowserContext, Page, expect

from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE

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
    wait_for_app_run(page)
    return page


def count_probes(page: Page) -> list[float]:
    """Times (this process's clock) at which ``page`` fetched the probe path, from now on."""
    times: list[float] = []
    page.on("request", lambda request: times.append(time.monotonic()) if PROBE in request.url else None)
    return times


# Start times, in seconds on the page's clock, of the probe fetches this document made so far.
PROBE_STARTS = """probe => performance.getEntriesByType("resource")
    .filter((entry) => new URL(entry.name).pathname === probe).map((entry) => entry.startTime / 1000)"""


def wait_for_probes(page: Page, count: int) -> list[float]:
    """Until the page has made ``count`` more probes than it had when called; their start times."""
    before = len(page.evaluate(PROBE_STARTS, PROBE))
    enough = f"([probe, count]) => ({PROBE_STARTS})(probe).length >= count"
    page.wait_for_function(enough, arg=[PROBE, before + count], polling=100)
    return page.evaluate(PROBE_STARTS, PROBE)[before : before + count]


def observe_quietly(page: Page, seconds: float) -> None:
    """A window in which something must NOT happen: load can only make less happen in it, so it cannot
    fail a correct guard. (Playwright delivers the page's events to this process meanwhile.)"""
    page.wait_for_timeout(seconds * 1000)


def expect_signed_out(page: Page) -> None:
    expect(page).to_have_title(SIGN_IN)
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
    expect_signed_out(second)
    assert probes and probes[0] - clicked < 30  # a poll would come after 48 s at the earliest
    assert not [c for c in context.cookies() if c["name"].startswith(SESSION_COOKIE)]


def test_polling_signs_out_a_tab_within_the_interval_and_counts_its_requests(guard_server, context):
    """No click anywhere in this browser: the session ends through the logout path directly."""
    interval = 2.0
    watched = open_signed_in(context, guard_server.base_url, f"?interval={interval:g}")
    starts = wait_for_probes(watched, 5)
    # Jittered by +/-20% around 2 s, one poll at a time: never sooner than 1.6 s after the last one
    # started; a loaded machine can only stretch a gap, so the upper bound only catches a stalled loop.
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(interval * 0.8 <= gap <= interval * 1.2 + 3 for gap in gaps), gaps
    expect(watched.get_by_role("heading", name=HEADING)).to_be_visible()

    probes = count_probes(watched)
    other = context.new_page()
    other.goto(guard_server.base_url + LOGOUT_PATH)
    expect(other).to_have_title(SIGNED_OUT)
    ended = time.monotonic()
    expect_signed_out(watched)
    # Within one interval: the first probe that starts after the logout sees it (one more may have been
    # on its way when the logout finished).
    assert 1 <= len([t for t in probes if t >= ended]) <= 2, (probes, ended)
    # What this means at the default 60 s: the same one probe per interval.
    mean = sum(gaps) / len(gaps)
    print(f"guard: a probe every {mean:.2f} s at interval={interval:g} s; 3600/60 = 60 per hour at 60 s")


def test_focus_signs_out_a_tab_with_polling_off(guard_server, context):
    watched = open_signed_in(context, guard_server.base_url, "?interval=0")
    probes = count_probes(watched)
    other = context.new_page()
    other.goto(guard_server.base_url + LOGOUT_PATH)
    expect(other).to_have_title(SIGNED_OUT)
    # Polling is off and nobody clicked in this browser's tabs: the tab stays as it is...
    observe_quietly(watched, 3)
    expect(watched.get_by_role("heading", name=HEADING)).to_be_visible()
    assert probes == []
    # ...until it gets the focus back.
    watched.bring_to_front()
    watched.evaluate("window.dispatchEvent(new Event('focus'))")
    expect_signed_out(watched)
    assert len(probes) >= 1


def test_a_blip_is_not_a_logout(guard_server, context):
    """5xx and network errors from the probe leave the tab where it is; it retries later."""
    watched = open_signed_in(context, guard_server.base_url, "?interval=1")
    failures: list[float] = []

    def fail(route) -> None:
        failures.append(time.monotonic())
        if len(failures) % 2:
            route.fulfill(status=503, body="busy")
        else:
            route.abort("connectionreset")

    watched.route(f"**{PROBE}", fail)
    # The second failure is the aborted one: once the page reports it, both routes have run.
    watched.wait_for_event("requestfailed", lambda request: PROBE in request.url)
    assert len(failures) == 2, failures
    # Backing off: 5 s (+/-20%) after the first failure, not one a second. (Measured here, where the
    # route runs; 0.5 s of slack for delivering the route to this process.)
    assert failures[1] - failures[0] >= 3.5, failures
    expect(watched.get_by_role("heading", name=HEADING)).to_be_visible()
    assert watched.url.startswith(guard_server.base_url + "/?interval=1")


def test_signed_out_url_is_where_the_tab_goes(guard_server, context):
    watched = open_signed_in(context, guard_server.base_url, "?interval=1&signed_out=/signed-out")
    went: list[str] = []
    watched.on("request", lambda r: went.append(r.url) if r.is_navigation_request() else None)
    context.new_page().goto(guard_server.base_url + LOGOUT_PATH)
    expect(watched).to_have_title(SIGNED_OUT)
    assert went and went[0] == guard_server.base_url + "/signed-out"
    expect(watched.get_by_role("heading", name=HEADING)).to_have_count(0)


def test_one_guard_per_tab_however_many_elements(guard_server, context):
    """The page has a logout_button (which brings a guard) and a session_guard: one poll loop."""
    watched = open_signed_in(context, guard_server.base_url, "?interval=1")
    starts = wait_for_probes(watched, 7)
    # One loop: six gaps of at least 0.8 s each. Two loops would interleave: about 3 s for seven probes.
    assert starts[-1] - starts[0] >= 6 * 0.8, starts


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
    other.goto(guard_server.base_url + LOGOUT_PATH)
    expect(other).to_have_title(SIGNED_OUT)
    observe_quietly(watched, 1.5)
    assert probes == []
    sockets[-1].close(code=1001, reason="load balancer went away")
    expect_signed_out(watched)
    assert probes


def _hide(page: Page) -> None:
    """What the guard sees of a background tab (headless pages all count as visible)."""
    page.evaluate("Object.defineProperty(document, 'hidden', { value: true, configurable: true })")


def test_a_hidden_tab_does_not_poll_but_follows_a_logout_click(guard_server, context):
    hidden = open_signed_in(context, guard_server.base_url, "?interval=1")
    _hide(hidden)
    clicking = open_signed_in(context, guard_server.base_url, "")
    probes = count_probes(hidden)
    observe_quietly(hidden, 4)
    # The poll that was already due when it hid finds it hidden and stops.
    assert len(probes) <= 1, probes
    clicking.get_by_role("button", name="Log out").click()
    expect(clicking).to_have_title(SIGNED_OUT)
    expect_signed_out(hidden)


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
    other.goto(guard_server.base_url + LOGOUT_PATH)
    expect(other).to_have_title(SIGNED_OUT)
    watched.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(watched).to_have_title(SIGNED_OUT, timeout=10_000)
    assert went == [guard_server.base_url + "/signed-out"]
