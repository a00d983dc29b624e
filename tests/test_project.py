"""Project hygiene a new user meets first: the license setup.py declares, and the README's first steps."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _setup_field(name: str) -> str:
    found = re.search(rf'{name}="([^"]+)"', (REPO / "setup.py").read_text())
    assert found is not None, name
    return found.group(1)


def test_license_file_is_the_apache_2_license_setup_py_declares():
    assert _setup_field("license") == "Apache-2.0"
    text = (REPO / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "9. Accepting Warranty or Additional Liability." in text
    assert "END OF TERMS AND CONDITIONS" in text


def _readme_before_the_rule() -> str:
    return (REPO / "README.md").read_text().split("\n---\n", 1)[0]


def test_readme_first_steps_name_the_python_and_make_a_virtual_environment():
    first = _readme_before_the_rule()
    minimum = _setup_field("python_requires").removeprefix(">=")
    assert f"Python {minimum}+" in first
    assert "python3 -m venv .venv" in first
    assert ". .venv/bin/activate" in first
    # The venv comes before the commands that install into it.
    assert first.index("python3 -m venv") < first.index("pip install")


def test_readme_test_command_is_the_one_ci_runs():
    commands = re.findall(r"```bash\n(.*?)\n```", _readme_before_the_rule(), re.DOTALL)
    assert 'pip install -e ".[dev]" && streamlit-alb-auth dev' in commands
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in commands


def test_readme_is_short():
    # Four audiences used to share one 36 KB page; the details now live in docs/ (the site).
    size = len((REPO / "README.md").read_bytes())
    assert size < 10 * 1024, f"README.md is {size} bytes: move details to a page in docs/ and link it"
