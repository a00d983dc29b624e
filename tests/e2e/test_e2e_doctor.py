"""`doctor --url` against the real stand-in (`streamlit-alb-auth dev` with a real Streamlit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("headers", ["multi", "single"])
def test_doctor_passes_against_the_dev_server(start_dev_server, tmp_path, headers) -> None:
    with start_dev_server(tmp_path, "--lambda-headers", headers) as server:
        result = subprocess.run(
            [sys.executable, "-m", "streamlit_alb_auth", "doctor", "--url", server.base_url + "/", "--json"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert {name: check["status"] for name, check in checks.items()} == {
        "tls": "warn",
        "sign-in": "ok",
        "revocation": "ok",
        "health": "ok",
        "logout": "ok",
        "signed-out": "ok",
        "hsts": "warn",
    }
    chain = "in one answer" if headers == "multi" else "in a chain of 4 single-value answers"
    assert chain in checks["logout"]["reason"]
