"""The command line itself: version, help a user can read, and templates that never clobber edits."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import streamlit_alb_auth
from streamlit_alb_auth.cli import build_parser, main
from streamlit_alb_auth.templates import FILES, SUMMARIES

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "streamlit_alb_auth" / "templates"


def _output_of(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_version_is_the_package_version(capsys):
    assert _output_of(capsys, "--version").strip() == f"streamlit-alb-auth {streamlit_alb_auth.__version__}"
    # setup.py reads the same one (single-sourced): what a built wheel would be called.
    command = [sys.executable, "setup.py", "--version"]
    declared = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    assert declared.stdout.strip().splitlines()[-1] == streamlit_alb_auth.__version__


def _commands() -> list[str]:
    (subparsers,) = [
        action for action in build_parser()._actions if action.choices and action.dest == "command"
    ]
    return list(subparsers.choices)


def test_help_has_no_restructuredtext_markup(capsys):
    for argv in [[], *[[command] for command in _commands()]]:
        text = _output_of(capsys, *argv, "--help")
        assert "``" not in text, argv
        assert not re.search(r":(func|class|mod|meth|ref):`", text), argv


def test_template_help_describes_each_kind(capsys):
    text = " ".join(_output_of(capsys, "template", "--help").split())
    for kind in FILES:
        assert f"{kind} {' '.join(SUMMARIES[kind].split())}" in text


def test_template_keeps_an_edited_file_unless_forced(tmp_path, capsys):
    edited = tmp_path / "stack.yaml"
    edited.write_text("# my edits\n")
    assert main(["template", "stack", "--out", str(tmp_path)]) == 1
    assert "--force" in capsys.readouterr().err
    assert edited.read_text() == "# my edits\n"

    assert main(["template", "stack", "--out", str(tmp_path), "--force"]) == 0
    assert edited.read_bytes() == (TEMPLATES / "stack.yaml").read_bytes()
