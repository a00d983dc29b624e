"""stack.yaml's sign-in switch: its own Cognito user pool (default), or any OIDC provider."""

from __future__ import annotations

import pytest
from cfnlint.decode import decode
from helpers.cfn_resolve import references, resolve
from helpers.templates import (
    MODES,
    OIDC,
    TEMPLATES,
    assert_nothing_dangles,
    container_environment,
    sign_in_actions,
)

COGNITO_PARTS = {"UserPool", "AdminGroup", "UserPoolDomain", "UserPoolClient"}
COGNITO_OUTPUTS = {"UserPoolId", "UserPoolClientId", "CognitoDomain", "AdminGroupName"}


def load() -> dict:
    template, problems = decode(str(TEMPLATES / "stack.yaml"))
    assert not problems, problems
    return template


def test_the_switch_defaults_to_cognito() -> None:
    parameter = load()["Parameters"]["IdentityProvider"]
    assert parameter["Default"] == "cognito"
    assert parameter["AllowedValues"] == ["cognito", "oidc"]


@pytest.mark.parametrize("logout_by", MODES)
def test_oidc_mode_creates_no_cognito_and_signs_in_with_the_provider(logout_by) -> None:
    deployed = resolve(load(), **OIDC, **MODES[logout_by])
    resources = deployed["Resources"]
    assert not {body["Type"] for body in resources.values() if body["Type"].startswith("AWS::Cognito::")}
    assert not COGNITO_PARTS & set(resources)
    assert not COGNITO_OUTPUTS & set(deployed["Outputs"])
    assert deployed["Outputs"]["Issuer"]["Value"] == {"Ref": "OidcIssuer"}
    actions = sign_in_actions(deployed)
    assert len(actions) == 2, "the default action and the logout rule"
    for action in actions:
        assert action["Type"] == "authenticate-oidc"
        config = action["AuthenticateOidcConfig"]
        assert config["Issuer"] == {"Ref": "OidcIssuer"}
        assert config["AuthorizationEndpoint"] == {"Ref": "OidcAuthorizationEndpoint"}
        assert config["TokenEndpoint"] == {"Ref": "OidcTokenEndpoint"}
        assert config["UserInfoEndpoint"] == {"Ref": "OidcUserInfoEndpoint"}
        assert config["ClientId"] == {"Ref": "OidcClientId"}
        assert config["ClientSecret"] == {
            "Fn::Sub": "{{resolve:secretsmanager:${OidcClientSecretArn}:SecretString}}"
        }
        assert config["SessionCookieName"] == {"Ref": "SessionCookieName"}
        assert config["SessionTimeout"] == {"Ref": "SessionTimeout"}
    assert [a["AuthenticateOidcConfig"]["OnUnauthenticatedRequest"] for a in actions] == [
        "authenticate",
        "allow",
    ]
    assert_nothing_dangles(deployed)
    assert "UserPoolDomain" not in references(resources["SignInReady"])


def test_oidc_mode_configures_the_app_and_the_logout_for_the_provider() -> None:
    deployed = resolve(load(), **OIDC)
    variables = deployed["Resources"]["LogoutFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["IDP_LOGOUT_URL"] == {"Ref": "OidcLogoutUrl"}
    assert variables["IDP_CLIENT_ID"] == {"Ref": "OidcClientId"}
    assert variables["IDP_REDIRECT_PARAM"] == {"Ref": "OidcRedirectParam"}
    assert not {name for name in variables if name.startswith("COGNITO_")}
    env = container_environment(deployed)
    assert env["ALB_AUTH_CLIENT_ID"] == {"Ref": "OidcClientId"}
    assert env["ALB_AUTH_ISSUER"] == {"Ref": "OidcIssuer"}
    assert env["ALB_AUTH_OIDC_ISSUER"] == {"Ref": "OidcIssuer"}
    assert "ALB_AUTH_USER_POOL_ID" not in env
    # LogoutBy app: the container gets what the Lambda would have had.
    app_env = container_environment(resolve(load(), **OIDC, LogoutBy="app"))
    added = {name: value for name, value in app_env.items() if name not in env}
    assert added == {**variables, "AWS_REGION": {"Ref": "AWS::Region"}}


@pytest.mark.parametrize("logout_by", MODES)
def test_cognito_mode_is_the_user_pool_as_before(logout_by) -> None:
    deployed = resolve(load(), CognitoDomainPrefix="my-app", **MODES[logout_by])
    resources = deployed["Resources"]
    assert set(resources) >= COGNITO_PARTS
    assert set(deployed["Outputs"]) >= COGNITO_OUTPUTS
    actions = sign_in_actions(deployed)
    assert [a["Type"] for a in actions] == ["authenticate-cognito"] * 2
    for action, on_unauthenticated in zip(actions, ["authenticate", "allow"], strict=True):
        assert action["AuthenticateCognitoConfig"] == {
            "UserPoolArn": {"Fn::GetAtt": ["UserPool", "Arn"]},
            "UserPoolClientId": {"Ref": "UserPoolClient"},
            "UserPoolDomain": {"Ref": "CognitoDomainPrefix"},
            "Scope": "openid email profile aws.cognito.signin.user.admin",
            "SessionCookieName": {"Ref": "SessionCookieName"},
            "SessionTimeout": {"Ref": "SessionTimeout"},
            "OnUnauthenticatedRequest": on_unauthenticated,
        }
    # The listener still waits for the Cognito domain (through the handle it depends on).
    assert resources["HttpsListener"]["DependsOn"] == "SignInReady"
    assert resources["SignInReady"]["Metadata"] == {"CognitoDomain": {"Ref": "UserPoolDomain"}}
    env = container_environment(deployed)
    assert env["ALB_AUTH_USER_POOL_ID"] == {"Ref": "UserPool"}
    assert not {name for name in env if name.startswith(("IDP_", "ALB_AUTH_OIDC"))}
    if logout_by == "lambda":
        variables = resources["LogoutFunction"]["Properties"]["Environment"]["Variables"]
        assert set(variables) == {
            "COGNITO_USER_POOL_DOMAIN_PREFIX",
            "COGNITO_CLIENT_ID",
            "APP_LOGOUT_URL",
            "SESSION_COOKIE_NAME",
        }
    assert_nothing_dangles(deployed)


def test_each_mode_asserts_its_own_parameters() -> None:
    rules = load()["Rules"]
    assert rules["CognitoNeedsItsDomain"]["RuleCondition"] == {
        "Fn::Equals": [{"Ref": "IdentityProvider"}, "cognito"]
    }
    asserted = {
        item["Assert"]["Fn::Not"][0]["Fn::Equals"][0]["Ref"]
        for item in rules["OidcNeedsItsProvider"]["Assertions"]
    }
    assert asserted == set(OIDC) - {"IdentityProvider"}
