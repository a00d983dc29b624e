"""The demo behind ``streamlit-alb-auth dev``, in a real Chromium: one server for the whole session.

Without Chromium the suite is skipped, unless ``CI`` is set, where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.waiting import answers_health, wait_until
from playwright.sync_api import Page, expect

from streamlit_alb_auth.devserver.machines import MACHINE_CLIENT_ID
from streamlit_alb_auth.testing import stop_process_group

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 90
# The longest one condition (a page load, a script run, a redirect chain) may take on two cores shared
# with other suites and load generators. Tests wait for conditions, so a passing run is no slower for it;
# Playwright's 5 s default for expect() is what made page loads under load fail.
CONDITION_SECONDS = 60
expect.set_options(timeout=CONDITION_SECONDS * 1000)


def wait_for_app_run(page: Page) -> None:
    """Until Streamlit is connected and no script runs ("Running..." gone): the page shows a finished run.

    The two attributes on ``stApp`` are the ones Streamlit's own browser tests wait on.
    """
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED")
    expect(app).to_have_attribute("data-test-script-state", "notRunning")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class DevServer:
    base_url: str
    streamlit_url: str
    log: Path


@pytest.fixture(scope="module")
def dev_server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """``python -m streamlit_alb_auth dev`` (the packaged demo: run from a folder without a
    ``demo_app.py``), stopped with SIGTERM (and killed if it hangs)."""
    with running_dev_server(tmp_path_factory.mktemp("dev")) as server:
        yield server


@pytest.fixture(scope="module")
def start_dev_server(chromium_path: Path) -> Callable[..., AbstractContextManager[DevServer]]:
    """``running_dev_server`` for modules that run their own app: ``with start_dev_server(folder,
    "app.py") as server``."""
    return running_dev_server


@contextlib.contextmanager
def running_dev_server(folder: Path, *args: str) -> Iterator[DevServer]:
    """``python -m streamlit_alb_auth dev *args`` run in ``folder``; the log is written there."""
    port, streamlit_port = _free_port(), _free_port()
    log = folder / "dev-server.log"
    command = [
        sys.executable, "-m", "streamlit_alb_auth", "dev", *args,
        "--port", str(port), "--streamlit-port", str(streamlit_port),
    ]  # fmt: skip
    # Away from the checkout, the package must come from PYTHONPATH or the install, as for a user.
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = DevServer(f"http://localhost:{port}", f"http://127.0.0.1:{streamlit_port}", log)
    try:
        _wait_until_ready(process, server)
        yield server
    finally:
        stop_process_group(process)
    assert process.returncode == 0, f"dev server exited with {process.returncode}:\n{log.read_text()}"


def _wait_until_ready(process: subprocess.Popen, server: DevServer) -> None:
    wait_until(
        lambda: answers_health(server.base_url),
        seconds=STARTUP_SECONDS,
        what="the dev server's health check",
        process=process,
        explain=server.log.read_text,
    )


@pytest.fixture(scope="module")
def browser(chromium_launch_options: dict[str, object]) -> Iterator[object]:
    """Module-scoped: Playwright's sync API keeps an event loop running on this thread until it stops,
    and later tests that call asyncio.run() need it gone."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_launch_options)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: object) -> Iterator[object]:
    """A fresh profile per test: no cookies carried from one test to the next."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(CONDITION_SECONDS * 1000)
    yield context
    context.close()


def printed_secret(log: Path) -> str:
    """The machine client's secret from ``dev --machine-clients``'s banner, which follows the health check
    the server fixtures wait for: wait for it too."""
    found = wait_until(
        lambda: re.findall(rf"client id {MACHINE_CLIENT_ID}, secret (\S+) ", log.read_text()),
        seconds=CONDITION_SECONDS,
        what="the machine client's secret in dev's banner",
        explain=log.read_text,
    )
    return found[0]
