"""The benchmark suite runs (tiny counts) and its figures stay well-formed; it asserts no timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_benchmark_runs_and_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| figure" in result.stdout
    figures = {figure["name"]: figure for figure in json.loads(out.read_text())["figures"]}
    assert any(name.startswith("verify a new token") for name in figures)
    assert any(name.startswith("get_alb_user() on a rerun") for name in figures)
    assert figures["session_guard() on a rerun"]["details"]["ours_us"] > 0
    for name, figure in figures.items():
        assert figure["value"] == figure["value"], f"{name} is NaN: {figure['details']}"
        assert figure["value"] >= 0
    # Counting figures are exact properties, not timings: they must hold even at tiny counts.
    fetches = next(f for name, f in figures.items() if "threads on one new kid" in name)
    assert fetches["value"] == 1
    bundle = next(f for name, f in figures.items() if name.startswith("logout component bundle"))
    assert 0 < bundle["value"] < 3072
