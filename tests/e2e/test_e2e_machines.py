"""``streamlit-alb-auth dev --machine-clients`` in front of a real Streamlit: the docs' curl example, as
a machine client runs it (token from /oauth2/token, then the agent API with it), and its refusals."""

from __future__ import annotations

import pytest
import requests
from conftest import printed_secret

from streamlit_alb_auth.devserver.machines import MACHINE_CLIENT_ID, MACHINE_SCOPE, TOKEN_PATH

pytestmark = pytest.mark.e2e
APP = 'import streamlit as st\n\nst.title("Agents welcome")\n'


def test_a_client_credentials_token_opens_the_agent_api_and_nothing_else(start_dev_server, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    with start_dev_server(tmp_path, "app.py", "--machine-clients") as server:
        secret = printed_secret(server.log)
        got = requests.post(
            server.base_url + TOKEN_PATH,
            data={"grant_type": "client_credentials", "scope": MACHINE_SCOPE},
            auth=(MACHINE_CLIENT_ID, secret),
            timeout=30,
        )
        assert got.status_code == 200, got.text
        token = got.json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}

        spec = requests.get(server.base_url + "/_stcore/agent/openapi.json", headers=bearer, timeout=30)
        assert spec.status_code == 200, spec.text
        assert "/_stcore/agent/interact" in spec.text  # Streamlit's own description of its agent API

        run = requests.post(server.base_url + "/_stcore/agent/interact", json={}, headers=bearer, timeout=60)
        assert run.status_code == 200, run.text
        assert "Agents welcome" in run.text  # the app ran for the machine client

        refused = requests.get(server.base_url + "/_stcore/agent/openapi.json", timeout=30)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
        page = requests.get(server.base_url + "/", headers=bearer, allow_redirects=False, timeout=30)
        assert page.status_code == 302 and "/oauth2/authorize" in page.headers["Location"]
