"""Synthesise the ``[cdk]`` construct: run by tests/tooling/test_cdk.py with a Python that has the CDK.

    python tests/helpers/cdk_synth.py OUTDIR   (with the checkout on PYTHONPATH)

Prints one JSON object: the synthesised template's path and what the construct's own API answered.
"""

from __future__ import annotations

import json
import sys

import aws_cdk as cdk

from streamlit_alb_auth.cdk import StreamlitAlbAuth

REQUIRED = {
    "domain_name": "app.example.com",
    "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
    "vpc_id": "vpc-0123456789abcdef0",
    "public_subnet_ids": ["subnet-0000000000000000a", "subnet-0000000000000000b"],
    "private_subnet_ids": ["subnet-0000000000000000c", "subnet-0000000000000000d"],
    "container_image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-app:v1",
    "cognito_domain_prefix": "my-unique-prefix",
}


def main(outdir: str) -> dict[str, str]:
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "MyApp", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    site = StreamlitAlbAuth(stack, "Streamlit", **REQUIRED, parameters={"MaxTaskCount": 10})
    answers = {
        "user_pool_output": stack.resolve(site.output("UserPoolId").logical_id),
        "task_role_type": site.resource("TaskRole").cfn_resource_type,
    }
    artifact = app.synth().get_stack_by_name("MyApp")
    try:
        StreamlitAlbAuth(
            cdk.Stack(cdk.App(), "Other"), "Streamlit", **REQUIRED, parameters={"NoSuchParameter": "x"}
        )
        answers["unknown_parameter"] = "accepted"
    except Exception as error:  # jsii raises its own RuntimeError subclasses
        answers["unknown_parameter"] = str(error)
    return {"template": artifact.template_full_path, **answers}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
