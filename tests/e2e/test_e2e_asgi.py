"""An ``st.App`` built with ``alb_auth()``, run by ``streamlit run`` behind the stand-in, in a real Chromium.

Also around the stand-in: the app's own port, reached directly with forged headers, serves nothing but
the health check. The agent API is on, so its identity (``st.user``) is checked too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import BrowserContext, Page, expect

from streamlit_alb_auth.devserver.config import LOCAL_ALB_ARN
from streamlit_alb_auth.testing import LocalAlbSigner

pytestmark = pytest.mark.e2e

APP = """
import streamlit as st

from streamlit_alb_auth.asgi import alb_auth

app = st.App("main.py", **alb_auth())
"""
MAIN = """
import base64

import streamlit as st

st.header(f"Door: {st.user.get('email')}")
st.write(f"groups: {st.user.get('groups')}, logged in: {st.user.get('is_logged_in')}")
st.image(base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="))
"""
AGENT_API_ON = "[server]\nenableAgentApi = true\n"
EMAIL = "user@example.com"
FORGED = {"x-alb-auth-email": "admin@example.com", "x-alb-auth-groups": "admin", "x-alb-auth-sub": "admin"}
REFUSED = "<!doctype html><title>401 Unauthorized</title><h1>401 Unauthorized</h1>\n"


def _app_folder(folder: Path) -> Path:
    (folder / "app.py").write_text(APP)
    (folder / "main.py").write_text(MAIN)
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "config.toml").write_text(AGENT_API_ON)
    return folder


@pytest.fixture(scope="module")
def door(start_dev_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with start_dev_server(_app_folder(tmp_path_factory.mktemp("door")), "app.py") as server:
        yield server


def signed_in(context: BrowserContext, base_url: str) -> Page:
    page = context.new_page()
    page.goto(base_url + "/")
    page.get_by_role("button", name=re.compile(f"Sign in as {re.escape(EMAIL)}")).click()
    expect(page.get_by_role("heading", name=f"Door: {EMAIL}")).to_be_visible()
    return page


def test_st_user_is_the_verified_user_whatever_the_browser_sends(door, context):
    context.set_extra_http_headers(FORGED)
    page = signed_in(context, door.base_url)
    expect(page.get_by_text("groups: None, logged in: True")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name=f"Door: {EMAIL}")).to_be_visible()


def _forged_alb_headers() -> dict[str, str]:
    """Right signer ARN, wrong key: what someone around the ALB could mint."""
    forger = LocalAlbSigner(alb_arn=LOCAL_ALB_ARN)
    return {**forger.headers({"sub": "admin", "email": "admin@example.com"}), **FORGED}


def test_the_apps_own_port_serves_nothing_to_forged_headers(door, context):
    page = signed_in(context, door.base_url)
    media = urlsplit(page.get_by_role("img").first.get_attribute("src") or "").path
    assert media.startswith("/media/")
    cookies = {cookie["name"]: cookie["value"] for cookie in context.cookies()}
    assert requests.get(door.base_url + media, cookies=cookies, timeout=10).status_code == 200

    forged = _forged_alb_headers()
    for path in ("/", media, "/_stcore/metrics", "/_stcore/host-config"):
        answer = requests.get(door.streamlit_url + path, headers=forged, timeout=10)
        assert (answer.status_code, answer.text) == (401, REFUSED), path
    agent = requests.post(door.streamlit_url + "/_stcore/agent/interact", json={}, headers=forged, timeout=10)
    assert (agent.status_code, agent.text) == (401, REFUSED)
    assert requests.get(door.streamlit_url + "/_stcore/health", timeout=10).status_code == 200


def test_agent_api_through_the_stand_in_sees_the_verified_user(door, context):
    signed_in(context, door.base_url)
    cookies = {cookie["name"]: cookie["value"] for cookie in context.cookies()}
    answer = requests.post(
        door.base_url + "/_stcore/agent/interact", json={}, cookies=cookies, headers=FORGED, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert f"Door: {EMAIL}" in answer.text
    assert "admin@example.com" not in answer.text


def test_a_mapping_configured_outside_the_middleware_stops_streamlit_run(tmp_path):
    """`streamlit run app.py` itself (no stand-in): a trustedUserHeaders mapping from the environment."""
    env = {
        **os.environ,
        "ALB_AUTH_ALB_ARN": LOCAL_ALB_ARN,
        "STREAMLIT_SERVER_TRUSTED_USER_HEADERS": '{"x-alb-auth-email": "email"}',
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH")])
        ),
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        "0",
        "--server.headless",
        "true",
    ]
    finished = subprocess.run(
        command, cwd=_app_folder(tmp_path), env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode != 0
    assert "server.trustedUserHeaders is set" in finished.stdout + finished.stderr
