"""The ``[cdk]`` construct: it synthesises the packaged stack.yaml, and cfn-lint finds nothing in the result.

Skipped, saying why, where the ``[cdk]`` extra or Node.js (which runs the CDK's jsii core) is missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

if shutil.which("node") is None:
    pytest.skip("the AWS CDK runs on Node.js, which is not installed here", allow_module_level=True)
cdk = pytest.importorskip("aws_cdk", reason="the [cdk] extra is not installed: pip install -e '.[cdk]'")

from streamlit_alb_auth.cdk import StreamlitAlbAuth  # noqa: E402

TEMPLATES = Path(__file__).resolve().parents[1] / "streamlit_alb_auth" / "templates"
REQUIRED = {
    "domain_name": "app.example.com",
    "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
    "vpc_id": "vpc-0123456789abcdef0",
    "public_subnet_ids": ["subnet-0000000000000000a", "subnet-0000000000000000b"],
    "private_subnet_ids": ["subnet-0000000000000000c", "subnet-0000000000000000d"],
    "container_image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-app:v1",
    "cognito_domain_prefix": "my-unique-prefix",
}


@pytest.fixture(scope="module")
def synthesised(tmp_path_factory) -> tuple[Path, dict]:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stack = cdk.Stack(app, "MyApp", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    site = StreamlitAlbAuth(stack, "Streamlit", **REQUIRED, parameters={"MaxTaskCount": 10})
    assert stack.resolve(site.output("UserPoolId").logical_id) == "UserPoolId"
    assert site.resource("TaskRole").cfn_resource_type == "AWS::IAM::Role"
    artifact = app.synth().get_stack_by_name("MyApp")
    path = Path(artifact.template_full_path)
    return path, json.loads(path.read_text())


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


def test_an_unknown_parameter_is_refused_by_name() -> None:
    stack = cdk.Stack(cdk.App(), "Other")
    with pytest.raises(Exception, match="NoSuchParameter"):
        StreamlitAlbAuth(stack, "Streamlit", **REQUIRED, parameters={"NoSuchParameter": "x"})
