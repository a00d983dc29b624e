"""The built wheel, installed for real (not editable) in a fresh venv, serves a working button.

This is the only test that proves Streamlit finds the bundle through the package's own
pyproject.toml once installed from a wheel, and that a click moves the whole page.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ASSET_URL = "/_stcore/bidi-components/streamlit-alb-auth.logout_button/index.js"
APP = """
import streamlit as st
from streamlit_alb_auth import logout_button

st.button("Native button")
logout_button()
with st.sidebar:
    logout_button("/cognito/logout?from=sidebar", "Sign out", help="Ends the ALB session")
"""
# Pin the Streamlit the wheel is tried with, e.g. "streamlit==1.51.0" for the oldest supported.
STREAMLIT_REQUIREMENT = os.environ.get("COMPONENT_TEST_STREAMLIT", "streamlit")
# Everything a build could need, nothing that is local state or big.
IGNORE = shutil.ignore_patterns(
    ".git", "node_modules", "__pycache__", "*.egg-info", "build", "dist", ".*_cache", ".hypothesis"
)

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
    subprocess.run([*pip, component_wheel, STREAMLIT_REQUIREMENT], check=True, timeout=600)
    return venv


@pytest.fixture
def component_server(component_venv, tmp_path) -> Iterator[tuple[str, Path]]:
    """``streamlit run`` from the venv, in a directory away from the checkout."""
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
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "streamlit did not start in 60 s"
            time.sleep(0.3)
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
    assert asset_dirs == "['component']"


def _record_sent_frames(page) -> list[bytes]:
    """What the page sends Streamlit over its websocket (protobuf BackMsgs, as raw bytes)."""
    frames: list[bytes] = []

    def watch(websocket) -> None:
        websocket.on("framesent", lambda f: frames.append(f if isinstance(f, bytes) else f.encode()))

    page.on("websocket", watch)
    return frames


def _sent_the_trigger(frames: list[bytes]) -> bool:
    # The rerun request carries the trigger as JSON inside the protobuf. Whether Python gets
    # to act on it before the page leaves is a race that AppTest covers instead; what matters
    # here is that the click told Python before navigating.
    return any(b'"event":"logout"' in frame for frame in frames)


def test_keyboard_user_can_focus_and_press_the_button(component_server, component_page):
    url, _ = component_server
    page = component_page
    frames = _record_sent_frames(page)
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

    for _ in range(40):
        page.keyboard.press("Tab")
        if button.evaluate("e => e.matches(':focus-visible')"):
            break
    else:
        pytest.fail("Tab never reached the logout button")
    assert button.evaluate("e => getComputedStyle(e).boxShadow") != "none", "no focus ring"

    with page.expect_navigation(url=f"{url}/cognito/logout"):
        page.keyboard.press("Enter")
    assert logout_requests == [f"{url}/cognito/logout"]
    assert page.url == f"{url}/cognito/logout"
    assert _sent_the_trigger(frames)


def test_sidebar_button_navigates_the_top_level_page(component_server, component_page):
    url, _ = component_server
    page = component_page
    frames = _record_sent_frames(page)
    target = f"{url}/cognito/logout?from=sidebar"
    page.route(
        "**/cognito/logout*",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>bye</p>"),
    )
    page.goto(url)
    button = page.locator("[data-testid=stSidebar]").get_by_role("button", name="Sign out")
    button.wait_for(timeout=30_000)
    assert button.get_attribute("title") == "Ends the ALB session"

    with page.expect_navigation(url=target) as navigation:
        button.click()
    assert navigation.value.request.is_navigation_request()
    assert navigation.value.request.frame == page.main_frame
    assert page.url == target
    assert _sent_the_trigger(frames)
