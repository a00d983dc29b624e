"""Turn ``pip install --dry-run --report`` output into a constraints file (used by scripts/upgrade-pins.sh).

Usage: ``python scripts/pins_from_report.py REPORT.json "what it pins" > constraints/NAME.txt``
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

OWN = "streamlit-alb-auth"  # the package itself is installed from the checkout, never pinned


def pins(report: dict) -> list[str]:
    found = {item["metadata"]["name"]: item["metadata"]["version"] for item in report["install"]}
    return sorted(
        (f"{name}=={version}" for name, version in found.items() if name.lower() != OWN), key=str.lower
    )


def main(argv: list[str]) -> int:
    report_path, what = argv
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    python = ".".join(platform.python_version_tuple()[:2])
    print(f"# {what}: every package it installs, at the versions the suite runs with.")
    system = platform.system()
    print(f"# Resolved by scripts/upgrade-pins.sh (Python {python}, {system}); do not edit by hand.")
    print(*pins(report), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
