"""Waiting for a condition, never for a time: a server that answers, a line in a log.

``wait_until`` polls until the condition holds and fails the test, with whatever explains it, when a
child process exits first or the deadline passes. The deadline only bounds a hang: a slow machine waits
longer, it does not fail.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    seconds: float,
    what: str,
    process: subprocess.Popen | None = None,
    explain: Callable[[], str] = lambda: "",
    every: float = 0.2,
) -> T:
    """``condition()``'s first truthy result; fails if ``process`` exits or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what}: the process exited ({process.returncode}) first\n{explain()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {seconds:g} s\n{explain()}")
        time.sleep(every)
    return result


def answers_health(url: str) -> bool:
    """Whether the Streamlit server (or stand-in) at ``url`` answers its health check with 200."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
