"""The ``streamlit-alb-auth dev`` command around the stand-in: which script it runs, and its child process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers.waiting import wait_until

import streamlit_alb_auth
from streamlit_alb_auth.demo import DEMO_APP
from streamlit_alb_auth.devserver import resolve_app, runner
from streamlit_alb_auth.devserver.config import DevConfig
from streamlit_alb_auth.devserver.output import is_chatter
from streamlit_alb_auth.devserver.runner import free_port
from streamlit_alb_auth.testing import stop_process_group


def test_dev_without_a_script_runs_the_packaged_demo(tmp_path):
    assert resolve_app(None, tmp_path) == DEMO_APP
    assert DEMO_APP.is_file()
    assert DEMO_APP.is_relative_to(Path(streamlit_alb_auth.__file__).parent)


def test_dev_without_a_script_prefers_a_demo_app_in_the_current_folder(tmp_path):
    (tmp_path / "demo_app.py").write_text("import streamlit as st\n")
    assert resolve_app(None, tmp_path) == tmp_path / "demo_app.py"
    assert resolve_app("other.py", tmp_path) == Path("other.py")


# --- the internal port's page ---------------------------------------------------------------------------


@pytest.fixture
def demo_without_settings(monkeypatch) -> Callable[[], Any]:
    """The demo run by AppTest with no ALB settings, as Streamlit's internal port serves it."""
    from streamlit.testing.v1 import AppTest

    for name in ("ALB_AUTH_ALB_ARN", "ALB_AUTH_KEY_URL", "ALB_AUTH_USER_POOL_ID", "ALB_AUTH_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALB_AUTH_DEV_URL", raising=False)
    return lambda: AppTest.from_file(str(DEMO_APP)).run(timeout=30)


def test_demo_without_the_stand_in_explains_how_to_start_it(demo_without_settings):
    app = demo_without_settings()
    assert not app.exception
    assert "ALB" in app.warning[0].value
    assert "streamlit-alb-auth dev" in app.code[0].value


def test_demo_on_the_internal_port_says_which_url_to_open(demo_without_settings, monkeypatch):
    monkeypatch.setenv("ALB_AUTH_DEV_URL", "http://localhost:8080/")
    app = demo_without_settings()
    assert not app.exception
    assert "internal port" in app.info[0].value
    assert "http://localhost:8080/" in app.info[0].value
    assert not app.code, "no advice to start what is already running"


# --- Streamlit as our child: whose health, what it prints, how it ends ------------------------------------


@contextmanager
def another_streamlit(port: int) -> Iterator[None]:
    """Something else on the internal port that answers Streamlit's health check."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _fake_streamlit(monkeypatch, script: str) -> None:
    """Our child, replaced by a small Python program (a real process) that says and does ``script``."""
    monkeypatch.setattr(runner, "streamlit_command", lambda app, port: [sys.executable, "-c", script])


def _serve(**streamlit: int) -> int:
    config = DevConfig(port=free_port(), streamlit_port=streamlit.get("port") or free_port())
    return asyncio.run(runner.serve(config, DEMO_APP))


def test_dev_refuses_an_internal_port_another_server_answers_on(capsys):
    port = free_port()
    with another_streamlit(port):
        code = _serve(port=port)
    out, err = capsys.readouterr()
    assert code == 2
    assert "open http" not in out
    assert f"127.0.0.1:{port}" in err
    assert "--streamlit-port" in err


def test_dev_says_why_when_streamlit_exits_before_it_is_ready(monkeypatch, capsys):
    _fake_streamlit(
        monkeypatch, "import sys; print('Error: Port 1 is already in use', file=sys.stderr); sys.exit(1)"
    )
    assert _serve() == 1
    out, err = capsys.readouterr()
    assert "open http" not in out
    assert "Port 1 is already in use" in err  # its own words are passed on
    assert "Streamlit exited before it was ready (exit code 1)" in err
    assert "is taken by another process" in err


def test_dev_is_not_fooled_when_our_streamlit_dies_while_another_answers(monkeypatch, capsys):
    """The port was free when checked, then taken before our child bound it: it exits, and we say so."""
    port = free_port()
    monkeypatch.setattr(runner, "port_is_free", lambda port: True)
    _fake_streamlit(
        monkeypatch,
        "import sys, time; time.sleep(1.5); print('Port 2 is already in use', file=sys.stderr); sys.exit(1)",
    )
    with another_streamlit(port):
        assert _serve(port=port) == 1
    err = capsys.readouterr().err
    assert f"its port 127.0.0.1:{port} is taken by another process" in err


@pytest.mark.parametrize(
    ("line", "dropped"),
    [
        ("  You can now view your Streamlit app in your browser.\n", True),
        ("  URL: http://127.0.0.1:40327\n", True),
        ("  Network URL: http://10.0.0.5:8501\n", True),
        ("  Stopping...\n", True),
        ("2026-11-29 04:32:35.596 Uvicorn server started on 127.0.0.1:40327\n", True),
        ("Traceback (most recent call last):\n", False),
        ("my app says: URL: see below\n", False),
        ("\n", False),
    ],
)
def test_only_streamlit_startup_and_stop_chatter_is_dropped(line, dropped):
    assert is_chatter(line) is dropped


@pytest.mark.e2e
def test_dev_prints_one_url_and_stops_once(tmp_path):
    """A real run, stopped as a terminal's Ctrl-C stops it: SIGINT to the whole process group."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit_alb_auth", "dev", "--port", str(port)]
    log = tmp_path / "dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until(
            lambda: "Ctrl-C" in log.read_text(),
            seconds=90,
            what="dev's banner",
            process=process,
            explain=log.read_text,
        )
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        stop_process_group(process)
    text = log.read_text()
    assert re.findall(r"https?://[^\s/]+", text) == [f"http://localhost:{port}"], text
    assert "You can now view" not in text
    assert text.count("Stopping...") == 1, text
    assert "Traceback" not in text
