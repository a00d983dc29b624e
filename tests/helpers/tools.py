"""Where the suite finds the tools that live outside the test environment.

scripts/install-test-deps.sh puts checkov and the AWS CDK into ``.tools/``, an environment of their own
(constraints/tools.txt), because they are big and few tests use them. A tool installed into the test
environment itself (or on PATH) is used as well. Missing, the tests that need it are skipped with the
reason, except in CI (``CI`` set), where the full run must run them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO / ".tools" / "bin"
INSTALL = "run scripts/install-test-deps.sh (it installs it into .tools/)"


def missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the full run must have it")
    pytest.skip(reason, allow_module_level=True)


def executable(name: str) -> str:
    """``.tools/bin/NAME``, else NAME on PATH."""
    found = TOOLS_BIN / name
    if found.is_file() and os.access(found, os.X_OK):
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        missing(f"{name} is not installed: {INSTALL}")
    return on_path


def python_with(module: str) -> str:
    """A Python that can import ``module``: this one, else the one in .tools/."""
    if importlib.util.find_spec(module) is not None:
        return sys.executable
    tools_python = TOOLS_BIN / "python"
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    if tools_python.exists() and subprocess.run([tools_python, "-c", probe], timeout=60).returncode == 0:
        return str(tools_python)
    missing(f"{module} is not installed: {INSTALL}")
