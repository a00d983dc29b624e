"""The ``[cdk]`` construct: it synthesises the packaged stack.yaml, and cfn-lint finds nothing in the result.

The CDK is big, so scripts/install-test-deps.sh keeps it in .tools/; tests/helpers/cdk_synth.py
synthesises with whichever Python has it (tests/helpers/tools.py). Skipped, saying why, where it or
Node.js (which runs the CDK's jsii core) is missing, except in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file
from helpers.tools import REPO, missing, python_with

TEMPLATES = REPO / "streamlit_alb_auth" / "templates"


@pytest.fixture(scope="module")
def synthesised(tmp_path_factory) -> tuple[Path, dict]:
    if shutil.which("node") is None:
        missing("the AWS CDK runs on Node.js, which is not installed here")
    python = python_with("aws_cdk")
    outdir = tmp_path_factory.mktemp("cdk.out")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [python, str(REPO / "tests" / "helpers" / "cdk_synth.py"), str(outdir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["user_pool_output"] == "UserPoolId"
    assert answers["task_role_type"] == "AWS::IAM::Role"
    path = Path(answers["template"])
    return path, {**json.loads(path.read_text()), "answers": answers}


def test_cfn_lint_finds_nothing_in_the_synthesised_template(synthesised) -> None:
    path, _ = synthesised
    matches = lint_file(path, config=ManualArgs(regions=["eu-west-1"]))
    assert [f"{m.rule.id} {m.message}" for m in matches] == []


def test_it_is_the_packaged_stack_with_the_given_parameters_filled_in(synthesised) -> None:
    from cfnlint.decode import decode

    _, template = synthesised
    original, problems = decode(str(TEMPLATES / "stack.yaml"))
    assert not problems
    assert set(original["Resources"]) == set(template["Resources"])
    assert set(template["Parameters"]) == set(original["Parameters"]) | {"BootstrapVersion"}
    defaults = {name: p.get("Default") for name, p in template["Parameters"].items()}
    assert defaults["DomainName"] == "app.example.com"
    assert defaults["PublicSubnetIds"] == "subnet-0000000000000000a,subnet-0000000000000000b"
    assert defaults["MaxTaskCount"] == 10
    assert defaults["MinTaskCount"] == original["Parameters"]["MinTaskCount"]["Default"]
    resources = template["Resources"]
    code = resources["LogoutFunction"]["Properties"]["Code"]["ZipFile"]
    assert code == (TEMPLATES / "logout_lambda.py").read_text()


def test_an_unknown_parameter_is_refused_by_name(synthesised) -> None:
    _, template = synthesised
    refusal = template["answers"]["unknown_parameter"]
    assert refusal != "accepted" and "NoSuchParameter" in refusal
