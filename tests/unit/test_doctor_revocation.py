"""``doctor`` warns when logout's revocation cannot work: a template's Cognito rule or app client without
``aws.cognito.signin.user.admin``, a live ALB that does not ask for it, an app logout route that cannot
reach GlobalSignOut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.doctor import doctor_cli, live, stand_in

from streamlit_alb_auth.doctor.revocation import check_logout_route, check_template

TEMPLATES = Path(__file__).resolve().parents[2] / "streamlit_alb_auth" / "templates"
ADMIN = "aws.cognito.signin.user.admin"


def checked(tmp_path: Path, text: str, name: str = "template.yaml") -> list[tuple[str, str]]:
    path = tmp_path / name
    path.write_text(text)
    return [(check.status, check.reason) for check in check_template(path)]


@pytest.mark.parametrize("name", ["stack.yaml", "logout.yaml"])
def test_the_shipped_templates_can_revoke(name):
    [check] = check_template(TEMPLATES / name)
    assert check.status == "ok" and ADMIN in check.reason, check


def test_the_old_stack_scopes_warn_for_every_rule_and_the_client(tmp_path):
    old = (TEMPLATES / "stack.yaml").read_text().replace(f" {ADMIN}", "").replace(f", {ADMIN}]", "]")
    found = checked(tmp_path, old)
    assert [status for status, _ in found] == ["warn", "warn", "warn"]
    assert "rule #1 asks for 'openid email profile'" in found[0][1]
    assert "app client #1 does not allow" in found[2][1]
    assert "NotAuthorizedException" in found[0][1]


def test_a_scope_parameter_is_read_at_its_default(tmp_path):
    text = (
        (TEMPLATES / "logout.yaml")
        .read_text()
        .replace(f"Default: openid email profile {ADMIN}", "Default: openid")
    )
    [(status, reason)] = checked(tmp_path, text)
    assert status == "warn" and "asks for 'openid'" in reason


def test_a_rule_without_scope_asks_for_the_albs_default_openid(tmp_path):
    text = """
Resources:
  Rule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      Actions:
        - Type: authenticate-cognito
          AuthenticateCognitoConfig:
            UserPoolArn: arn
            UserPoolClientId: client
            UserPoolDomain: domain
          Order: 1
        - Type: forward
  Client:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      AllowedOAuthScopes:
        - openid
        - "aws.cognito.signin.user.admin"
      Description: >-
        Scope: openid aws.cognito.signin.user.admin (a description is not a key)
"""
    [(status, reason)] = checked(tmp_path, text)
    assert status == "warn" and "asks for 'openid'" in reason


def test_a_json_template_is_read_too(tmp_path):
    template = {
        "Parameters": {"S": {"Type": "String", "Default": f"openid {ADMIN}"}},
        "Resources": {
            "Rule": {"Properties": {"Actions": [{"AuthenticateCognitoConfig": {"Scope": {"Ref": "S"}}}]}},
            "Client": {"Properties": {"AllowedOAuthScopes": ["openid"]}},
        },
    }
    found = checked(tmp_path, json.dumps(template), "template.json")
    assert [status for status, _ in found] == ["warn"] and "app client #1" in found[0][1]


def test_a_template_without_cognito_has_nothing_to_revoke(tmp_path):
    [(status, reason)] = checked(tmp_path, "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n")
    assert status == "ok" and "no authenticate-cognito rule" in reason


LOGOUT_ROUTE = {
    "COGNITO_CLIENT_ID": "client",
    "COGNITO_DOMAIN": "auth.example.com",
    "APP_LOGOUT_URL": "https://app.example.com/signed-out",
}


def test_the_apps_logout_route_must_reach_global_sign_out():
    assert check_logout_route({}) is None, "the Lambda logs out: nothing to see here"
    good = check_logout_route({**LOGOUT_ROUTE, "AWS_REGION": "eu-west-1"})
    assert good is not None and good.status == "ok" and "cognito-idp.eu-west-1" in good.reason
    blind = check_logout_route(LOGOUT_ROUTE)
    assert blind is not None and blind.status == "warn" and blind.fix == "set AWS_REGION"
    oidc = check_logout_route({"IDP_LOGOUT_URL": "https://idp.example.com/logout"})
    assert oidc is not None and oidc.status == "warn" and "revokes no token" in oidc.reason


def test_live_the_stand_in_asks_for_the_scope_and_passes():
    with stand_in() as url:
        checks = live(url)
    assert checks["revocation"].status == "ok", checks["revocation"]


def test_live_a_deployment_without_the_scope_warns():
    with stand_in({"scope": "openid email profile"}) as url:
        checks = live(url)
    assert checks["revocation"].status == "warn"
    assert "without aws.cognito.signin.user.admin" in checks["revocation"].reason
    assert "AllowedOAuthScopes" in checks["revocation"].fix


def test_the_template_flag(tmp_path):
    result = doctor_cli("--template", str(TEMPLATES / "stack.yaml"), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = json.loads(result.stdout)["checks"]
    assert [check["status"] for check in checks if check["name"] == "revocation"] == ["ok"]
    assert {check["status"] for check in checks} == {"ok"}  # the machine-rule checks too


def test_a_client_credentials_client_needs_no_sign_out_scope_but_a_code_client_does(tmp_path):
    client = """
Resources:
  Client:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      AllowedOAuthFlows: [{flows}]
      AllowedOAuthScopes: [streamlit/agent]
      GenerateSecret: true
  Rule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      Actions:
        - Type: authenticate-cognito
          AuthenticateCognitoConfig:
            Scope: openid aws.cognito.signin.user.admin
"""
    [(status, _)] = checked(tmp_path, client.format(flows="client_credentials"))
    assert status == "ok"
    [(status, reason)] = checked(tmp_path, client.format(flows="code"))
    assert status == "warn" and "app client #1" in reason
