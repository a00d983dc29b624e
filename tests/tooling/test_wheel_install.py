"""The built wheel, installed for real (not editable) in a fresh venv, serves a working button.

This is the only test that proves Streamlit finds the bundle through the package's own
pyproject.toml once installed from a wheel, and that a click moves the whole page. It also holds
the button up against ``st.button`` of each type in the same page: colours at rest, hovered and
keyboard-focused, and the help tooltip on hover and on keyboard focus.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.waiting import answers_health, wait_until
from helpers.wheel import IGNORE

REPO = Path(__file__).resolve().parents[2]
ASSET_URL = "/_stcore/bidi-components/streamlit-alb-auth.logout_button/index.js"
APP = """
import streamlit as st
from streamlit_alb_auth import logout_button

st.button("Native button")
logout_button()
for kind in ("secondary", "primary", "tertiary"):
    help = f"Help for {kind}"
    st.button(f"Native {kind}", type=kind, icon=":material/logout:", help=help, key=f"native-{kind}")
    logout_button(label=f"Ours {kind}", type=kind, icon=":material/logout:", help=help, key=f"ours-{kind}")
with st.sidebar:
    logout_button("Sign out", logout_path="/cognito/logout?from=sidebar", help="Ends the ALB session")
"""
# Pin the Streamlit the wheel is tried with, e.g. "streamlit==1.51.0" for the oldest supported.
STREAMLIT_REQUIREMENT = os.environ.get("COMPONENT_TEST_STREAMLIT", "streamlit")

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _without_pythonpath() -> dict[str, str]:
    """A worktree's PYTHONPATH would make the venv import the checkout instead of the install."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


@pytest.fixture(scope="module")
def component_wheel(tmp_path_factory) -> Path:
    # Built from a copy: setuptools writes build/ and *.egg-info next to setup.py, and the
    # checkout is shared.
    source = tmp_path_factory.mktemp("source") / "src"
    shutil.copytree(REPO, source, ignore=IGNORE)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("streamlit_alb_auth-*.whl")
    return wheel


@pytest.fixture(scope="module")
def component_venv(component_wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet"]
    # The pinned versions of the test run (constraints/test.txt), unless a Streamlit is asked for by name.
    pins = [] if "COMPONENT_TEST_STREAMLIT" in os.environ else ["-c", REPO / "constraints" / "test.txt"]
    # Without PYTHONPATH: a checkout on it makes pip call the package already installed and skip the wheel.
    install = [*pip, *pins, component_wheel, STREAMLIT_REQUIREMENT]
    subprocess.run(install, check=True, timeout=600, env=_without_pythonpath())
    return venv


@pytest.fixture
def component_server(component_venv, tmp_path, request) -> Iterator[tuple[str, Path]]:
    """``streamlit run`` from the venv, in a directory away from the checkout; parametrized
    indirectly, the parameter is the theme base ("light" or "dark")."""
    (tmp_path / "app.py").write_text(APP)
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [
            component_venv / "bin" / "streamlit",
            "run",
            "app.py",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--server.headless=true",
            "--server.fileWatcherType=none",
            "--browser.gatherUsageStats=false",
            f"--theme.base={getattr(request, 'param', 'light')}",
        ],
        cwd=tmp_path,
        env=_without_pythonpath(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        explain = (tmp_path / "server.log").read_text
        wait_until(lambda: answers_health(url), seconds=60, what="streamlit", process=server, explain=explain)
        yield url, tmp_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


@pytest.fixture
def component_page(chromium_launch_options):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_launch_options)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_wheel_ships_the_manifest_and_bundle(component_wheel):
    with zipfile.ZipFile(component_wheel) as wheel:
        for name in ("pyproject.toml", "component/index.js", "component/style.css"):
            shipped = wheel.read(f"streamlit_alb_auth/{name}")
            assert shipped == (REPO / "streamlit_alb_auth" / name).read_bytes(), name


def test_wheel_carries_the_license(component_wheel):
    with zipfile.ZipFile(component_wheel) as wheel:
        (license_file,) = [name for name in wheel.namelist() if name.endswith(".dist-info/licenses/LICENSE")]
        assert wheel.read(license_file) == (REPO / "LICENSE").read_bytes()


def test_installed_dev_command_without_a_script_finds_the_packaged_demo(component_venv, tmp_path):
    probe = "from streamlit_alb_auth.devserver import resolve_app; print(resolve_app(None))"
    result = subprocess.run(
        [component_venv / "bin" / "python", "-c", probe],
        cwd=tmp_path,
        env=_without_pythonpath(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    demo = Path(result.stdout.strip())
    assert demo.is_relative_to(component_venv), "found the checkout, not the install"
    for name in ("app.py", "home.py", "admin.py"):  # the entrypoint and the pages it navigates to
        assert demo.with_name(name).read_bytes() == (REPO / "streamlit_alb_auth" / "demo" / name).read_bytes()


def test_installed_package_is_discovered_by_streamlit(component_venv, tmp_path):
    probe = (
        "from streamlit.components.v2.manifest_scanner import scan_component_manifests\n"
        "for manifest, root in scan_component_manifests():\n"
        "    if manifest.name == 'streamlit-alb-auth':\n"
        "        print(root, [c.asset_dir for c in manifest.components])\n"
    )
    result = subprocess.run(
        [component_venv / "bin" / "python", "-c", probe],
        cwd=tmp_path,
        env=_without_pythonpath(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    root, asset_dirs = result.stdout.strip().split(" ", 1)
    assert Path(root).is_relative_to(component_venv), "found the checkout, not the install"
    assert asset_dirs == "['component']"  # one component: logout_button, which session_guard renders too


def _tab_to(page, button) -> None:
    """Press Tab until ``button`` has the keyboard focus."""
    for _ in range(60):
        page.keyboard.press("Tab")
        if button.evaluate("e => e.matches(':focus-visible')"):
            return
    pytest.fail("Tab never reached the button")


# Installed in the page just before the click. It notes in localStorage (same origin as the
# routed logout page, so it outlives the navigation) whether the websocket carried the logout
# trigger before the page left. Then it stretches every zero-delay timer to 150 ms, keeping their
# order: the navigation then commits long before such a timer runs, so a button that leaves
# without waiting for Streamlit's send (a zero-delay timer in 1.67) loses the trigger every time
# instead of once in a while under load.
WATCH_THE_TRIGGER = """() => {
  localStorage.removeItem("st-alb-trigger-sent");
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    if (text.includes('"event":"logout"')) localStorage.setItem("st-alb-trigger-sent", "yes");
    return send.call(this, data);
  };
  const later = window.setTimeout;
  window.setTimeout = (run, ms, ...rest) => later(run, ms ? ms : 150, ...rest);
}"""


def _sent_the_trigger_before_leaving(page) -> bool:
    # Whether Python acts on the trigger before the page leaves is a race AppTest covers instead;
    # what matters here is that the click told Python before the page left.
    return page.evaluate('() => localStorage.getItem("st-alb-trigger-sent")') == "yes"


def test_keyboard_user_can_focus_and_press_the_button(component_server, component_page):
    url, _ = component_server
    page = component_page
    logout_requests: list[str] = []

    def answer_logout(route):
        logout_requests.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>signed out</p>")

    page.route("**/cognito/logout*", answer_logout)
    with page.expect_response(lambda r: r.url.endswith(ASSET_URL)) as asset:
        page.goto(url)
    assert asset.value.status == 200, "bundle not served from the installed package"

    button = page.get_by_role("button", name="Log out", exact=True)
    button.wait_for(timeout=30_000)
    assert button.evaluate("e => e.tagName === 'BUTTON' && e.type === 'button'")

    _tab_to(page, button)
    assert button.evaluate("e => getComputedStyle(e).boxShadow") != "none", "no focus ring"
    page.evaluate(WATCH_THE_TRIGGER)

    with page.expect_navigation(url=f"{url}/cognito/logout"):
        page.keyboard.press("Enter")
    assert logout_requests == [f"{url}/cognito/logout"]
    assert page.url == f"{url}/cognito/logout"
    assert _sent_the_trigger_before_leaving(page)


def test_sidebar_button_navigates_the_top_level_page(component_server, component_page):
    url, _ = component_server
    page = component_page
    target = f"{url}/cognito/logout?from=sidebar"
    page.route(
        "**/cognito/logout*",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>bye</p>"),
    )
    page.goto(url)
    button = page.locator("[data-testid=stSidebar]").get_by_role("button", name="Sign out")
    button.wait_for(timeout=30_000)
    tip = page.locator("[data-testid=stSidebar] [role=tooltip]")
    assert tip.text_content() == "Ends the ALB session"
    assert button.get_attribute("aria-describedby") == tip.get_attribute("id")

    page.evaluate(WATCH_THE_TRIGGER)
    with page.expect_navigation(url=target) as navigation:
        button.click()
    assert navigation.value.request.is_navigation_request()
    assert navigation.value.request.frame == page.main_frame
    assert page.url == target
    assert _sent_the_trigger_before_leaving(page)


# Computed styles of the given button, or of the focused one, looking into shadow roots (ours
# renders in one).
STYLE_OF = """(target) => {
  let el = target;
  if (!el) {
    el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  }
  if (!el || el.tagName !== "BUTTON") return null;
  const s = getComputedStyle(el);
  const props = ["background-color", "color", "border-top-color", "border-top-width", "border-radius",
                 "min-height", "padding-left", "padding-top", "font-size", "font-weight", "line-height",
                 "box-shadow"];
  return [el.textContent, Object.fromEntries(props.map((p) => [p, s.getPropertyValue(p)]))];
}"""
TIP_STYLE = ["background-color", "color", "font-size", "padding-left", "padding-top", "border-radius"]


def _channels(color: str) -> tuple[float, ...]:
    """rgb()/rgba() or color(srgb ...) as (r, g, b, alpha) on a 0-255 scale for r, g, b."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", color.split("(", 1)[1])]
    if color.startswith("color(srgb"):
        # Out-of-gamut values (white lightened) are shown clamped.
        numbers[:3] = [min(max(n, 0.0), 1.0) * 255 for n in numbers[:3]]
    return (*numbers[:3], numbers[3] if len(numbers) > 3 else 1.0)


def _same_look(ours: dict[str, str], native: dict[str, str]) -> list[str]:
    """Properties that differ: colours by more than 3 of 255 a channel (rounding), others at all."""
    differ = []
    for name, value in native.items():
        if "color" in name:
            a, b = _channels(ours[name]), _channels(value)
            if any(abs(x - y) > 3 for x, y in zip(a[:3], b[:3], strict=True)) or abs(a[3] - b[3]) > 0.02:
                differ.append(f"{name}: ours {ours[name]}, st.button {value}")
        elif name != "box-shadow" and ours[name] != value:
            differ.append(f"{name}: ours {ours[name]}, st.button {value}")
    return differ


def _button(page, label: str):
    return page.get_by_role("button", name=label, exact=True)


def settled(element) -> None:
    """Until the CSS transitions the last event started on ``element`` (and inside it) have finished."""
    element.evaluate("e => Promise.all(e.getAnimations({ subtree: true }).map((a) => a.finished))")


@pytest.mark.parametrize("component_server", ["light", "dark"], indirect=True)
@pytest.mark.parametrize("kind", ["secondary", "primary", "tertiary"])
def test_each_type_looks_like_st_button_at_rest_hovered_and_focused(
    component_server, component_page, kind, request
):
    url, _ = component_server
    page = component_page
    page.goto(url)
    native, ours = _button(page, f"Native {kind}"), _button(page, f"Ours {kind}")
    ours.wait_for(timeout=30_000)
    page.evaluate("document.fonts.ready.then(() => true)")  # the icon font, before anything is measured

    def look(button) -> dict[str, str]:
        return button.evaluate(STYLE_OF)[1]

    assert not _same_look(look(ours), look(native)), "at rest"
    background = page.evaluate("getComputedStyle(document.querySelector('.stApp')).backgroundColor")
    dark = _channels(background)[0] < 128
    assert dark == (request.node.callspec.params["component_server"] == "dark")
    assert ours.bounding_box()["height"] == native.bounding_box()["height"]
    for button in (ours, native):
        button.hover()
        settled(button)
        hovered = look(button)
        page.mouse.move(0, 0)
        if button is ours:
            hovered_ours = hovered
    assert not _same_look(hovered_ours, hovered), "hovered"

    focused: dict[str, dict[str, str]] = {}
    for _ in range(60):
        page.keyboard.press("Tab")
        found = page.evaluate(STYLE_OF, None)
        if found and found[0].endswith(f"{kind}"):
            focused[found[0]] = found[1]
        if len(focused) == 2:
            break
    assert set(focused) == {f"logoutNative {kind}", f"logoutOurs {kind}"}, "Tab never reached both"
    ours_focus, native_focus = focused[f"logoutOurs {kind}"], focused[f"logoutNative {kind}"]
    assert ours_focus["box-shadow"] != "none"
    assert not _same_look(ours_focus, native_focus), "keyboard-focused (the fill)"
    # The focus ring: the primary colour at half strength, 0.2rem wide, on both.
    ring = re.compile(r"(.+\)) 0px 0px 0px ([\d.]+)px")
    (ours_ring, ours_width), (native_ring, native_width) = (
        ring.fullmatch(ours_focus["box-shadow"]).groups(),
        ring.fullmatch(native_focus["box-shadow"]).groups(),
    )
    assert ours_width == native_width
    assert not _same_look({"ring-color": ours_ring}, {"ring-color": native_ring})


def test_help_tooltip_shows_on_hover_and_on_keyboard_focus_like_st_button(component_server, component_page):
    url, _ = component_server
    page = component_page
    page.goto(url)
    ours = _button(page, "Ours secondary")
    ours.wait_for(timeout=30_000)
    tip = page.locator(".st-key-ours-secondary [role=tooltip]")
    assert tip.text_content() == "Help for secondary"
    assert ours.get_attribute("aria-describedby") == tip.get_attribute("id")
    assert not tip.is_visible()

    _button(page, "Native secondary").hover()
    native_tip = page.get_by_test_id("stTooltipContent")
    native_tip.wait_for()
    native_look = native_tip.evaluate(
        "(e, props) => Object.fromEntries(props.map((p) => [p, getComputedStyle(e).getPropertyValue(p)]))",
        TIP_STYLE,
    )
    ours.hover()
    tip.wait_for(state="visible")
    ours_look = tip.evaluate(
        "(e, props) => Object.fromEntries(props.map((p) => [p, getComputedStyle(e).getPropertyValue(p)]))",
        TIP_STYLE,
    )
    assert not _same_look(ours_look, native_look)
    # Above the button, not over it.
    assert tip.bounding_box()["y"] + tip.bounding_box()["height"] <= ours.bounding_box()["y"]

    page.mouse.move(0, 0)
    tip.wait_for(state="hidden")
    _tab_to(page, ours)
    tip.wait_for(state="visible")
