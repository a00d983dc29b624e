"""``streamlit-alb-auth doctor``: a live deployment from outside, or the configuration where the app runs.

Every check ends as one ``Check``: ``ok``, ``warn`` or ``fail``, with the reason and, unless it is ok,
the fix. The command exits 1 when any check fails. Nothing here needs AWS credentials: the live
checks are plain HTTPS requests, the configuration checks read the app's own settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal, TextIO

from streamlit_alb_auth.errors import log_safe
from streamlit_alb_auth.fetch import Fetcher
from streamlit_alb_auth.templates.logout_lambda import SESSION_COOKIE

Status = Literal["ok", "warn", "fail"]
DEFAULT_COOKIE_NAME = SESSION_COOKIE
# Reasons quote what a deployment sent (a Location, a query value, a cookie name): long enough for
# a real authorize URL, short enough that a hostile one cannot scroll the summary away.
TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``name`` stays stable (scripts match on it), ``reason`` says what was seen."""

    name: str
    status: Status
    reason: str
    fix: str = ""


def ok(name: str, reason: str) -> Check:
    return Check(name, "ok", reason)


def warn(name: str, reason: str, fix: str = "") -> Check:
    return Check(name, "warn", reason, fix)


def fail(name: str, reason: str, fix: str) -> Check:
    return Check(name, "fail", reason, fix)


def doctor_fetcher() -> Fetcher:
    """Bounded like every fetch of the package; pages are small and a run makes a dozen requests."""
    return Fetcher(timeout=10.0, max_bytes=256 * 1024, max_fetches_per_minute=60, what="deployment")


def render(checks: Sequence[Check], out: TextIO, *, as_json: bool) -> None:
    if as_json:
        failed = any(check.status == "fail" for check in checks)
        json.dump({"ok": not failed, "checks": [asdict(check) for check in checks]}, out, indent=2)
        out.write("\n")
        return
    # A terminal obeys escape sequences in what it prints, and reasons quote the deployment's own
    # answers: every field goes through the log escaper, so a hostile server cannot retitle the
    # window, clear it or rewrite the summary. JSON escapes control characters by itself.
    for check in checks:
        reason = log_safe(check.reason, TEXT_LIMIT)
        out.write(f"{check.status:<5} {log_safe(check.name):<21} {reason}\n")
        if check.fix:
            out.write(f"{'':<27} fix: {log_safe(check.fix, TEXT_LIMIT)}\n")
    counts = {status: sum(check.status == status for check in checks) for status in ("ok", "warn", "fail")}
    out.write(f"\n{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s)\n")


def exit_code(checks: Sequence[Check]) -> int:
    return 1 if any(check.status == "fail" for check in checks) else 0


def run_doctor(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """The ``doctor`` command: ``--url`` checks a deployment from outside, without it the local settings.

    Examples
    --------
    >>> from streamlit_alb_auth.cli import main
    >>> main(["doctor", "--url", "https://app.example.com/"])  # doctest: +SKIP
    """
    if getattr(args, "template", None):
        from pathlib import Path

        from streamlit_alb_auth.doctor.machine import check_machine_rules
        from streamlit_alb_auth.doctor.revocation import check_template

        checks = [*check_template(Path(args.template)), *check_machine_rules(Path(args.template))]
    elif args.url:
        from streamlit_alb_auth.doctor.live import check_deployment

        checks = check_deployment(
            args.url,
            logout_path=args.logout_path,
            health_path=args.health_path,
            cookie_name=args.cookie_name,
            fetcher=doctor_fetcher(),
        )
    else:
        from streamlit_alb_auth.doctor.local import check_configuration

        checks = check_configuration(cookie_name=args.cookie_name, fetcher=doctor_fetcher())
    render(checks, out, as_json=args.json)
    return exit_code(checks)
