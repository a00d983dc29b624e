"""An agent behind ``streamlit-alb-auth dev --machine-clients``: an ``st.App`` built with
``alb_auth(bearer_...)``, a client-credentials token from the stand-in's ``/oauth2/token``, and Streamlit's
agent API (``/_stcore/agent/interact``, whose answer is the run's element tree as JSON). The app verifies
the token itself: ``st.user`` is the machine, ``Page(groups=)`` gates it by its scope, and around the
stand-in only a token the issuer signed opens anything. A person in a browser is unaffected."""

from __future__ import annotations

import re
import uuid

import jwt
import pytest
import requests
from conftest import printed_secret
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import expect

from streamlit_alb_auth.devserver.machines import MACHINE_CLIENT_ID, MACHINE_SCOPE, TOKEN_PATH

pytestmark = pytest.mark.e2e

APP = f"""
import streamlit as st

from streamlit_alb_auth.asgi import alb_auth

# bearer_issuer and bearer_jwks_url come from the ALB_AUTH_BEARER_* variables `dev --machine-clients` sets.
app = st.App("main.py", **alb_auth(bearer_audience="{MACHINE_CLIENT_ID}", bearer_groups_claim="scope"))
"""
MAIN = f"""
import streamlit as st

from streamlit_alb_auth import Page, navigation


def home():
    st.header("Home")
    user = st.user
    st.write(f"who={{user.get('sub')}} machine={{user.get('is_machine')}} groups={{user.get('groups')}}")


def agents():
    st.header(f"Agent console for {{st.user.get('client_id')}}")


def admin():
    st.header("Admin secrets")


navigation([
    Page(home, title="Home", default=True),
    Page(agents, title="Agents", groups=["{MACHINE_SCOPE}"]),
    Page(admin, title="Admin", groups=["admin"]),
]).run()
"""


def interact(url: str, token: str, **body: str) -> str:
    answer = requests.post(
        url + "/_stcore/agent/interact", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def forged_token(claims: dict[str, object], kid: str) -> str:
    """The same claims and kid, signed by a key the issuer never had: what a caller around the ALB mints."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode({**claims, "jti": str(uuid.uuid4())}, key, algorithm="RS256", headers={"kid": kid})


def test_an_agent_is_its_verified_machine_identity_and_is_gated_by_its_scope(
    start_dev_server, tmp_path, context
):
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "main.py").write_text(MAIN)
    with start_dev_server(tmp_path, "app.py", "--machine-clients") as server:
        got = requests.post(
            server.base_url + TOKEN_PATH,
            data={"grant_type": "client_credentials", "scope": MACHINE_SCOPE},
            auth=(MACHINE_CLIENT_ID, printed_secret(server.log)),
            timeout=30,
        )
        assert got.status_code == 200, got.text
        token = got.json()["access_token"]

        home = interact(server.base_url, token)
        assert f"who={MACHINE_CLIENT_ID} machine=True groups={MACHINE_SCOPE}" in home, home
        console = interact(server.base_url, token, page="agents")
        assert f"Agent console for {MACHINE_CLIENT_ID}" in console  # Page(groups=) let the scope in
        assert "Admin secrets" not in interact(server.base_url, token, page="admin")
        # An MCP client: the same interact tool over /_stcore/agent/mcp (stateless JSON-RPC, no handshake).
        call = {"name": "interact", "arguments": {"page": "agents"}}
        mcp = requests.post(
            server.base_url + "/_stcore/agent/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call},
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-11-25",
            },
            timeout=60,
        )
        assert mcp.status_code == 200, mcp.text
        assert f"Agent console for {MACHINE_CLIENT_ID}" in mcp.text

        # Around the stand-in, the app verifies the token itself: the issuer's token opens the agent API,
        # the same claims under a key the issuer never had do not, and a browser path refuses both.
        direct = server.streamlit_url + "/_stcore/agent/interact"
        claims = jwt.decode(token, options={"verify_signature": False})
        kid = jwt.get_unverified_header(token)["kid"]
        assert MACHINE_CLIENT_ID in interact(server.streamlit_url, token)
        for bad in (forged_token(claims, kid), token + "x"):
            refused = requests.post(direct, json={}, headers={"Authorization": f"Bearer {bad}"}, timeout=30)
            assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
        page = requests.get(
            server.streamlit_url + "/", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert page.status_code == 401

        # A person signs in as before and sees a person's st.user; the agents' page is not theirs.
        browser = context.new_page()
        browser.goto(server.base_url + "/")
        browser.get_by_role("button", name=re.compile(r"Sign in as user@example\.com")).click()
        expect(browser.get_by_role("heading", name="Home")).to_be_visible()
        expect(browser.get_by_text("who=")).to_contain_text("machine=None groups=None")
        expect(browser.get_by_role("link", name="Agents")).to_have_count(0)
