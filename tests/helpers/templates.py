"""The shipped CloudFormation templates, deployed with parameters and read as data."""

from __future__ import annotations

from pathlib import Path

from cfnlint.decode import decode

from helpers.cfn_resolve import references, resolve

TEMPLATES = Path(__file__).resolve().parents[2] / "streamlit_alb_auth" / "templates"


def assert_nothing_dangles(deployed: dict) -> None:
    known = set(deployed["Resources"]) | set(deployed["Parameters"])
    used = references({"Resources": deployed["Resources"], "Outputs": deployed["Outputs"]})
    dangling = {name for name in used if name not in known and not name.startswith("AWS::")}
    assert not dangling, f"refers to what this mode does not create: {dangling}"


def container_environment(deployed: dict) -> dict:
    (container,) = deployed["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return {item["Name"]: item["Value"] for item in container["Environment"]}


OIDC = {
    "IdentityProvider": "oidc",
    "OidcIssuer": "https://login.example.com/tenant/v2.0",
    "OidcAuthorizationEndpoint": "https://login.example.com/tenant/oauth2/v2.0/authorize",
    "OidcTokenEndpoint": "https://login.example.com/tenant/oauth2/v2.0/token",
    "OidcUserInfoEndpoint": "https://graph.example.com/oidc/userinfo",
    "OidcClientId": "0123abcd-alb",
    "OidcClientSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:alb-oidc-AbCdEf",
    "OidcLogoutUrl": "https://login.example.com/tenant/oauth2/v2.0/logout",
}


MODES = {"lambda": {}, "app": {"LogoutBy": "app"}}


def sign_in_actions(deployed: dict) -> list[dict]:
    """The authenticate action of the listener's default and of every rule, in that order."""
    resources = deployed["Resources"]
    lists = [resources["HttpsListener"]["Properties"]["DefaultActions"]] + [
        body["Properties"]["Actions"]
        for body in resources.values()
        if body["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    ]
    return [action for actions in lists for action in actions if action["Type"].startswith("authenticate-")]


ROOT = Path(__file__).resolve().parents[2]


STACK = ROOT / "streamlit_alb_auth" / "templates" / "stack.yaml"


AGENT_PATHS = ["/_stcore/agent/*"]


REQUIRED = {
    "DomainName": "app.example.com",
    "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
    "CognitoDomainPrefix": "my-prefix",
}


def deployed(**parameters: str) -> dict:
    template, problems = decode(str(STACK))
    assert not problems, problems
    return resolve(template, **REQUIRED, **parameters)


def rules(template: dict) -> dict[str, dict]:
    return {
        name: r["Properties"]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    }


def machine_rule(template: dict) -> dict:
    found = [
        rule
        for rule in rules(template).values()
        if any(action["Type"] == "jwt-validation" for action in rule["Actions"])
    ]
    assert len(found) == 1, found
    return found[0]
