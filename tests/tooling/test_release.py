"""From a clone to a release and to an image, without a package index.

``python -m build`` makes the wheel and sdist of the package's one version, ``twine check`` finds nothing
wrong with them, and the image's build context (``template dockerfile`` with the wheel in ``wheels/``)
installs streamlit-alb-auth from that wheel with no index at all. No Docker engine runs here, so the
Dockerfile's own COPY and pip lines are replayed instead (hadolint checks it in
tests/tooling/test_dockerfile.py).
"""

from __future__ import annotations

import fnmatch
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.wheel import IGNORE

import streamlit_alb_auth
from streamlit_alb_auth.templates import write_template

REPO = Path(__file__).resolve().parents[2]
VERSION = streamlit_alb_auth.__version__

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build`` (sdist, then the wheel from it) of a copy of the checkout."""
    source = tmp_path_factory.mktemp("source") / "src"
    shutil.copytree(REPO, source, ignore=IGNORE)
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--outdir", str(out), str(source)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_build_makes_a_wheel_and_an_sdist_of_the_one_version(dist):
    assert sorted(path.name for path in dist.iterdir()) == [
        f"streamlit_alb_auth-{VERSION}-py3-none-any.whl",
        f"streamlit_alb_auth-{VERSION}.tar.gz",
    ]


def test_twine_finds_nothing_wrong(dist):
    files = sorted(str(path) for path in dist.iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_changelog_has_this_version():
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert f"\n## {VERSION} " in changelog or f"\n## [{VERSION}]" in changelog


def build_stage(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the first stage, continuation lines joined."""
    lines = [line.strip() for line in dockerfile.replace("\\\n", " ").splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    second = next(i for i, line in enumerate(lines) if i and line.startswith("FROM "))
    return [tuple(line.split(None, 1)) for line in lines[:second]]  # type: ignore[misc]


def ignored(dockerignore: str, path: str) -> bool:
    """Whether a .dockerignore pattern (as these are: no ! exceptions) keeps ``path`` out of the context."""
    patterns = [line.rstrip("/") for line in dockerignore.splitlines() if line and not line.startswith("#")]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(prefix, pattern) for pattern in patterns for prefix in prefixes)


def test_the_image_build_context_installs_the_wheel_without_an_index(dist, tmp_path):
    context = tmp_path / "app"
    assert write_template("dockerfile", context) == 0
    (context / "app.py").write_text("import streamlit as st\nst.write('hello')\n")
    (context / "requirements.txt").write_text("streamlit-alb-auth\n")
    (context / "wheels").mkdir()
    (wheel,) = dist.glob("*.whl")
    shutil.copy(wheel, context / "wheels")
    dockerignore = (context / ".dockerignore").read_text()
    assert not ignored(dockerignore, f"wheels/{wheel.name}") and not ignored(dockerignore, "requirements.txt")
    assert ignored(dockerignore, "dist/x.whl"), "the check above is live"

    stage = build_stage((context / "Dockerfile").read_text())
    (copy,) = [arguments.split() for instruction, arguments in stage if instruction == "COPY"]
    *sources, target = copy
    # The COPY, replayed: a file as it is, a directory's contents; a pattern matching nothing is skipped.
    image_dir = tmp_path / "image" / target.strip("/")
    image_dir.mkdir(parents=True)
    for pattern in sources:
        for match in context.glob(pattern):
            for item in match.iterdir() if match.is_dir() else [match]:
                shutil.copy(item, image_dir)
    (run,) = [
        arguments for instruction, arguments in stage if instruction == "RUN" and "pip install" in arguments
    ]
    pip_arguments = shlex.split(run.replace(target.rstrip("/"), str(image_dir)))
    assert pip_arguments[:2] == ["/opt/venv/bin/pip", "install"]
    report = tmp_path / "report.json"
    dry_run = ["--dry-run", "--ignore-installed", "--no-index", "--no-deps", "--report", str(report)]
    command = [sys.executable, "-m", "pip", "install", *pip_arguments[2:], *dry_run]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    (installed,) = json.loads(report.read_text())["install"]
    assert installed["metadata"]["name"] == "streamlit-alb-auth"
    assert installed["metadata"]["version"] == VERSION
    assert installed["download_info"]["url"] == (image_dir / wheel.name).as_uri()
