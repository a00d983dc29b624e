"""``streamlit run app.py`` with ``st.App("main.py", **alb_auth())`` and no settings: a real server process.

It must stop at once with a non-zero status and one paragraph (the missing setting, the command that sets
everything locally), no traceback, and leave nothing listening at the URL Streamlit printed first.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from streamlit_alb_auth.devserver.runner import free_port
from streamlit_alb_auth.testing import stop_process_group

REPO = Path(__file__).resolve().parents[1]
APP = """import streamlit as st

from streamlit_alb_auth.asgi import alb_auth

app = st.App("main.py", **alb_auth())
"""


@pytest.fixture
def unconfigured(tmp_path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "main.py").write_text("import streamlit as st\n\nst.write('hello')\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith("ALB_AUTH_")}
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    # HOME here too: no ~/.streamlit/secrets.toml of this machine's user may configure it.
    return tmp_path, {**env, "PYTHONPATH": path, "HOME": str(tmp_path)}


def run(folder: Path, env: dict[str, str], port: int) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true"]
    command += [f"--server.port={port}", "--browser.gatherUsageStats=false"]
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        # A ceiling, not a wait: the process ends by itself in a few seconds.
        out, err = process.communicate(timeout=120)
    finally:
        stop_process_group(process)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def test_an_unconfigured_st_app_stops_at_once_with_one_paragraph(unconfigured):
    folder, env = unconfigured
    port = free_port()
    result = run(folder, env, port)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    (paragraph,) = [block for block in result.stderr.split("\n\n") if "streamlit-alb-auth stopped" in block]
    text = " ".join(paragraph.split())
    assert text.startswith("streamlit-alb-auth stopped app.py at start-up. No ALB ARN is configured")
    assert "ALB_AUTH_ALB_ARN" in text
    assert "`streamlit-alb-auth dev app.py`" in text
    assert re.search(rf"URL: http://\S+:{port}", result.stdout), "Streamlit prints the URL first"
    assert "loaded app.py; nothing answers there" in text
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_a_caller_that_catches_the_error_still_gets_it(monkeypatch):
    from streamlit_alb_auth.asgi import alb_auth
    from streamlit_alb_auth.errors import ConfigurationError

    for name in [name for name in os.environ if name.startswith("ALB_AUTH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    with pytest.raises(ConfigurationError, match="No ALB ARN"):
        alb_auth()
    assert sys.excepthook is not sys.__excepthook__  # only what nobody catches is shown briefly
