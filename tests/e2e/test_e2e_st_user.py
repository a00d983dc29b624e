"""``st.user`` in an ``st.App`` built with ``alb_auth()``, in a real Streamlit server: names in any script,
a group with a comma, a bool ``is_logged_in``, for a Chromium tab (the websocket) and the agent API.

The test is the ALB here: it signs the headers with a local key whose public half a loopback key server
serves, and Chromium sends them on every request, the websocket's handshake included.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import _free_port
from helpers.waiting import answers_health, wait_until
from playwright.sync_api import expect

from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, LocalKeyServer, stop_process_group

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
APP = """
import streamlit as st
from streamlit_alb_auth.asgi import alb_auth

app = st.App("main.py", **alb_auth())
"""
MAIN = """
import streamlit as st
from streamlit_alb_auth.asgi.user_headers import st_user_groups

st.header(f"name: {st.user.name}")
st.write(f"email: {st.user.email}")
st.write(f"logged in: {st.user.is_logged_in!r} ({type(st.user.is_logged_in).__name__})")
st.write(f"split on commas: {st.user.groups.split(',')!r}")
st.write(f"decoded: {st_user_groups()!r}")
"""
NAME, EMAIL = "山田太郎", "yamada@example.jp"
GROUPS = ["staff,admin", "ops"]


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """``streamlit run app.py`` configured for a local ALB and user pool; the headers that ALB would add."""
    signer, pool = LocalAlbSigner(), LocalCognitoPool()
    folder = tmp_path_factory.mktemp("st-user")
    (folder / "app.py").write_text(APP)
    (folder / "main.py").write_text(MAIN)
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "config.toml").write_text("[server]\nenableAgentApi = true\n")
    with LocalKeyServer(signer, pools=[pool]) as keys:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "ALB_AUTH_ALB_ARN": signer.alb_arn,
            "ALB_AUTH_CLIENT_ID": signer.client_id,
            "ALB_AUTH_KEY_URL": keys.alb_key_url,
            "ALB_AUTH_USER_POOL_ID": pool.user_pool_id,
            "ALB_AUTH_JWKS_URL": keys.jwks_url,
        }
        with running_streamlit(folder, env) as url:
            access_token = pool.access_token("yamada", groups=GROUPS, expires_in=3600)
            claims = {"sub": "yamada", "email": EMAIL, "name": NAME}
            yield url, signer.headers(claims, access_token=access_token, expires_in=3600)


@contextlib.contextmanager
def running_streamlit(folder: Path, env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    log = folder / "streamlit.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: answers_health(url), seconds=90, what="streamlit", process=process, explain=log.read_text
        )
        yield url
    finally:
        stop_process_group(process)


def test_a_chromium_tab_sees_the_verified_name_groups_and_a_bool(door, context):
    url, headers = door
    context.set_extra_http_headers(headers)
    page = context.new_page()
    page.goto(url + "/")
    expect(page.get_by_role("heading", name=f"name: {NAME}")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"email: {EMAIL}")).to_be_visible()
    expect(page.get_by_text("logged in: True (bool)")).to_be_visible()
    expect(page.get_by_text("split on commas: ['staff%2Cadmin', 'ops']")).to_be_visible()
    expect(page.get_by_text("decoded: ('staff,admin', 'ops')")).to_be_visible()


def test_the_agent_api_sees_the_same_user(door):
    url, headers = door
    answer = requests.post(url + "/_stcore/agent/interact", json={}, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    assert f"name: {NAME}" in answer.text and "logged in: True (bool)" in answer.text
    assert "????" not in answer.text
