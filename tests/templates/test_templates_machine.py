"""stack.yaml's machine-client rule (MachineClients): off by default, jwt-validation on agent paths."""

from __future__ import annotations

import re

import pytest
from cfnlint.decode import decode
from helpers.templates import AGENT_PATHS, ROOT, STACK, deployed, machine_rule, rules

from streamlit_alb_auth.templates import DEPLOY_NOTES as NOTES

# CloudFormation's TemplateBody limit (CreateStack API reference); bigger templates go through S3.
TEMPLATE_BODY_LIMIT = 51_200


def test_machine_clients_are_off_by_default() -> None:
    template = deployed()
    assert not any(a["Type"] == "jwt-validation" for r in rules(template).values() for a in r["Actions"])
    assert "MachineClient" not in template["Resources"]
    assert "MachineResourceServer" not in template["Resources"]
    assert not {"MachineClientId", "MachineTokenEndpoint", "AgentApiUrl"} & set(template["Outputs"])


@pytest.mark.parametrize("mode", ["cognito", "external"])
def test_machine_rule_validates_then_forwards_to_the_app_on_the_agent_paths_only(mode) -> None:
    extra = {"MachineIssuer": "https://idp.example.com", "MachineJwksUrl": "https://idp.example.com/jwks"}
    template = deployed(MachineClients=mode, **(extra if mode == "external" else {}))
    rule = machine_rule(template)
    assert rule["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": AGENT_PATHS}}]
    actions = sorted(rule["Actions"], key=lambda action: action["Order"])
    assert [a["Type"] for a in actions] == ["jwt-validation", "forward"]
    assert actions[1]["TargetGroupArn"] == {"Ref": "AppTargetGroup"}
    assert rule["ListenerArn"] == {"Ref": "HttpsListener"}
    # A listener rule wins over the listener's default action (the browser sign-in) whatever its number;
    # the priorities stay unique.
    priorities = [r["Priority"] for r in rules(template).values()]
    assert len(priorities) == len(set(priorities))
    assert "Authorization" not in str(rule["Conditions"])


def test_cognito_machine_rule_checks_the_stacks_issuer_client_and_scope() -> None:
    template = deployed(MachineClients="cognito")
    config = machine_rule(template)["Actions"][0]["JwtValidationConfig"]
    issuer = "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"
    assert config["Issuer"] == {"Fn::Sub": issuer}
    assert config["JwksEndpoint"] == {"Fn::Sub": issuer + "/.well-known/jwks.json"}
    # The output the app reads for browsers names the same issuer.
    assert template["Outputs"]["Issuer"]["Value"] == {"Fn::Sub": issuer}
    claims = {c["Name"]: c for c in config["AdditionalClaims"]}
    assert claims["client_id"]["Values"] == [{"Ref": "MachineClient"}]
    assert claims["client_id"]["Format"] == "single-string"
    server = template["Resources"]["MachineResourceServer"]["Properties"]
    scope = f"{server['Identifier']}/{server['Scopes'][0]['ScopeName']}"
    assert claims["scope"] == {"Format": "space-separated-values", "Name": "scope", "Values": [scope]}
    client = template["Resources"]["MachineClient"]["Properties"]
    assert client["AllowedOAuthFlows"] == ["client_credentials"]
    assert client["AllowedOAuthScopes"] == [scope]
    assert client["GenerateSecret"] is True
    assert "CallbackURLs" not in client
    assert template["Resources"]["MachineClient"]["DependsOn"] == "MachineResourceServer"
    outputs = template["Outputs"]
    assert outputs["MachineClientId"]["Value"] == {"Ref": "MachineClient"}
    assert outputs["MachineTokenEndpoint"]["Value"]["Fn::Sub"].endswith(".amazoncognito.com/oauth2/token")
    assert scope in outputs["MachineTokenEndpoint"]["Description"]


def test_external_machine_rule_takes_issuer_jwks_and_optional_audience_from_parameters() -> None:
    base = {"MachineIssuer": "https://idp.example.com", "MachineJwksUrl": "https://idp.example.com/jwks"}
    config = machine_rule(deployed(MachineClients="external", **base))["Actions"][0]["JwtValidationConfig"]
    assert config["Issuer"] == {"Ref": "MachineIssuer"}
    assert config["JwksEndpoint"] == {"Ref": "MachineJwksUrl"}
    assert "AdditionalClaims" not in config
    with_audience = deployed(MachineClients="external", MachineAudience="api://app", **base)
    claims = machine_rule(with_audience)["Actions"][0]["JwtValidationConfig"]["AdditionalClaims"]
    assert claims == [{"Format": "single-string", "Name": "aud", "Values": [{"Ref": "MachineAudience"}]}]
    assert "MachineClient" not in with_audience["Resources"]


@pytest.mark.parametrize("name", ["MachineIssuer", "MachineJwksUrl"])
def test_machine_issuer_and_jwks_must_be_https(name) -> None:
    with pytest.raises(ValueError, match=name):
        deployed(MachineClients="external", **{name: "http://idp.example.com"})


def test_machine_rules_refuse_incomplete_settings() -> None:
    template, _ = decode(str(STACK))
    assertions = {name: [a["Assert"] for a in rule["Assertions"]] for name, rule in template["Rules"].items()}
    assert {"Fn::Equals": [{"Ref": "IdentityProvider"}, "cognito"]} in assertions[
        "CognitoMachinesNeedCognito"
    ]
    needed = {str(a) for a in assertions["ExternalMachinesNeedTheirIssuer"]}
    assert any("MachineIssuer" in a for a in needed) and any("MachineJwksUrl" in a for a in needed)


def deploy_commands() -> list[str]:
    """The stack's deploy command in docs/deploying.md and in `template stack`'s note (lines joined)."""
    texts = [(ROOT / "docs" / "deploying.md").read_text(encoding="utf-8"), NOTES["stack"]]
    pattern = r"aws cloudformation deploy --template-file \S*stack\.yaml(?:[^\n]*\\\n)*[^\n]*"
    commands = [
        found for text in texts for found in re.findall(pattern, text.replace("{path}", "stack.yaml"))
    ]
    assert len(commands) == 2, commands
    return commands


def test_deploy_commands_upload_the_template_when_it_is_over_the_inline_limit() -> None:
    oversized = len(STACK.read_bytes()) > TEMPLATE_BODY_LIMIT
    for command in deploy_commands():
        assert ("--s3-bucket" in command) == oversized, command
