"""checkov over every shipped template: no failed check, and every skip named here with its reason.

checkov runs as a user runs it, ``checkov -f FILE`` with its default frameworks (the secrets scanner
too, not only ``cloudformation`` and ``dockerfile``). One run (about 10 s) scans the templates and a
deliberately weakened copy of stack.yaml, which must fail a CloudFormation check and a secrets check,
so a checkov that silently scans nothing, or leaves a framework out, cannot pass this file. checkov
runs offline (``--skip-download``): it would otherwise ask its vendor's API for guideline links.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.tools import executable

TEMPLATES = Path(__file__).resolve().parents[2] / "streamlit_alb_auth" / "templates"
SCANNED = {"stack.yaml": "cloudformation", "logout.yaml": "cloudformation", "Dockerfile": "dockerfile"}
# `template lambda` ships it too; only the secrets scanner reads Python, and reports nothing clean.
SECRETS_ONLY = ("logout_lambda.py",)
WEAKENED = "weakened-stack.yaml"

# Each skip has its reason in the template's Metadata; the README lists them too.
EXPECTED_SKIPS = {
    ("stack.yaml", "CKV_AWS_260", "AWS::EC2::SecurityGroup.LoadBalancerSecurityGroup"),
    ("stack.yaml", "CKV_AWS_91", "AWS::ElasticLoadBalancingV2::LoadBalancer.LoadBalancer"),
    ("stack.yaml", "CKV_AWS_158", "AWS::Logs::LogGroup.LogoutLogGroup"),
    ("stack.yaml", "CKV_AWS_158", "AWS::Logs::LogGroup.AppLogGroup"),
    ("logout.yaml", "CKV_AWS_158", "AWS::Logs::LogGroup.LogoutLogGroup"),
    *(
        (path, check, "AWS::Lambda::Function.LogoutFunction")
        for path in ("stack.yaml", "logout.yaml")
        for check in ("CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173")
    ),
}


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> dict[str, list[dict]]:
    """checkov's results by outcome ("passed", "failed", "skipped"), over all files."""
    binary = executable("checkov")
    folder = tmp_path_factory.mktemp("checkov")
    for name in [*SCANNED, *SECRETS_ONLY]:
        shutil.copy(TEMPLATES / name, folder / name)
    stack = (TEMPLATES / "stack.yaml").read_text()
    insights = "      ClusterSettings:\n        - Name: containerInsights\n          Value: enabled\n"
    # The inlined Lambda's spelling before issue 21: the secrets scanner took it for a leaked secret.
    access, flagged = "access = _header(event, ", "token = _header(event, "
    assert insights in stack and stack.count(access) == 1
    (folder / WEAKENED).write_text(
        stack.replace(insights, "      ClusterSettings: []\n").replace(access, flagged)
    )
    files = [arg for name in [*SCANNED, *SECRETS_ONLY, WEAKENED] for arg in ("-f", name)]
    result = subprocess.run(
        [binary, *files, "--skip-download", "-o", "json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    outcomes: dict[str, list[dict]] = {"passed": [], "failed": [], "skipped": []}
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0, report["summary"]
        for outcome in outcomes:
            for check in report["results"][f"{outcome}_checks"]:
                # checkov writes "/stack.yaml" but "Dockerfile": one spelling for the tests
                outcomes[outcome].append({**check, "file_path": check["file_path"].lstrip("/")})
    return outcomes


def test_every_template_is_scanned(scan) -> None:
    scanned = {check["file_path"] for checks in scan.values() for check in checks}
    assert scanned == {*SCANNED, WEAKENED}


def test_no_template_fails_a_check(scan) -> None:
    failed = [
        f"{check['file_path']} {check['check_id']} {check['resource']}: {check['check_name']}"
        for check in scan["failed"]
        if check["file_path"] != WEAKENED
    ]
    assert failed == []


def test_the_scan_is_live(scan) -> None:
    """Guards the test above: container insights turned off, and the secrets scanner's old finding."""
    failed = {(check["file_path"], check["check_id"]) for check in scan["failed"]}
    assert (WEAKENED, "CKV_AWS_65") in failed
    assert (WEAKENED, "CKV_SECRET_6") in failed


def test_each_skip_is_expected_and_gives_a_one_line_reason(scan) -> None:
    skipped = [check for check in scan["skipped"] if check["file_path"] != WEAKENED]
    assert {(c["file_path"], c["check_id"], c["resource"]) for c in skipped} == EXPECTED_SKIPS
    for check in skipped:
        reason = check["check_result"]["suppress_comment"]
        assert 20 <= len(reason) <= 160 and "\n" not in reason, (check["check_id"], reason)


def test_real_findings_are_fixed_not_skipped(scan) -> None:
    passed = {(c["file_path"], c["check_id"]) for c in scan["passed"]}
    for path in ("stack.yaml", "logout.yaml"):
        assert (path, "CKV_AWS_115") in passed, "the logout Lambda's concurrency is limited"
    assert ("stack.yaml", "CKV_AWS_65") in passed, "container insights"
    assert ("stack.yaml", "CKV_AWS_66") in passed, "log retention"
