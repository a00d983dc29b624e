"""The templates' logout switch: a Lambda answers the logout path (default), or the app does.

stack.yaml switches with ``LogoutBy``; logout.yaml with ``AppTargetGroupArn`` (set: the app).
"""

from __future__ import annotations

import re

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.decode import decode
from helpers.cfn_resolve import resolve
from helpers.templates import TEMPLATES, assert_nothing_dangles, container_environment

from streamlit_alb_auth.asgi.logout_route import LOGOUT_PATH_PATTERN, logout_route
from streamlit_alb_auth.errors import UnsafeLogoutPathError
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH

LAMBDA_SOURCE = (TEMPLATES / "logout_lambda.py").read_text(encoding="utf-8")
APP_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef"
POOL_ARN = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc"
LAMBDA_PARTS = {"LogoutLogGroup", "LogoutRole", "LogoutFunction", "LogoutPermission", "LogoutTargetGroup"}
# Per template: the parameters of app mode, and where the logout rule then forwards.
APP_MODE = {
    "logout.yaml": ({"AppTargetGroupArn": APP_TG}, {"Ref": "AppTargetGroupArn"}),
    "stack.yaml": ({"LogoutBy": "app"}, {"Ref": "AppTargetGroup"}),
}
# Revoking (authenticate-cognito, then forward) needs the user pool in logout.yaml.
REVOKING = {"logout.yaml": {"UserPoolArn": POOL_ARN}, "stack.yaml": {"CognitoDomainPrefix": "my-app"}}


def load(name: str) -> dict:
    template, problems = decode(str(TEMPLATES / name))
    assert not problems, problems
    return template


def logout_rule_actions(deployed: dict) -> list[dict]:
    (rule,) = [
        body["Properties"]
        for body in deployed["Resources"].values()
        if body["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
        and any(
            c.get("PathPatternConfig", {}).get("Values") == [{"Ref": "LogoutPath"}]
            for c in body["Properties"]["Conditions"]
        )
    ]
    return sorted(rule["Actions"], key=lambda action: action.get("Order", 0))


def test_the_stack_switch_defaults_to_the_lambda() -> None:
    parameter = load("stack.yaml")["Parameters"]["LogoutBy"]
    assert parameter["Default"] == "lambda"
    assert parameter["AllowedValues"] == ["lambda", "app"]


@pytest.mark.parametrize("name", APP_MODE)
def test_lambda_mode_creates_the_lambda_and_forwards_to_it(name) -> None:
    deployed = resolve(load(name), **REVOKING[name])
    assert set(deployed["Resources"]) >= LAMBDA_PARTS
    authenticate, forward = logout_rule_actions(deployed)
    assert authenticate["AuthenticateCognitoConfig"]["OnUnauthenticatedRequest"] == "allow"
    assert forward["TargetGroupArn"] == {"Ref": "LogoutTargetGroup"}
    assert_nothing_dangles(deployed)


@pytest.mark.parametrize("name", APP_MODE)
def test_app_mode_creates_no_lambda_and_forwards_to_the_app_after_an_allowing_sign_in(name) -> None:
    parameters, target = APP_MODE[name]
    deployed = resolve(load(name), **parameters, **REVOKING[name])
    kinds = {body["Type"] for body in deployed["Resources"].values()}
    assert not LAMBDA_PARTS & set(deployed["Resources"])
    assert not {kind for kind in kinds if kind.startswith("AWS::Lambda::")}
    assert not {"LogoutFunctionArn", "LogoutTargetGroupArn"} & set(deployed["Outputs"])
    authenticate, forward = logout_rule_actions(deployed)
    assert authenticate["Type"] == "authenticate-cognito"
    assert authenticate["AuthenticateCognitoConfig"]["OnUnauthenticatedRequest"] == "allow"
    assert forward == {"Type": "forward", "Order": 2, "TargetGroupArn": target}
    assert_nothing_dangles(deployed)


def test_logout_stack_app_mode_without_revoking_forwards_straight_to_the_app() -> None:
    parameters, target = APP_MODE["logout.yaml"]
    deployed = resolve(load("logout.yaml"), **parameters)
    assert logout_rule_actions(deployed) == [{"Type": "forward", "TargetGroupArn": target}]
    assert_nothing_dangles(deployed)


def test_stack_app_mode_configures_the_container_exactly_as_the_lambda() -> None:
    """The app's logout route runs the Lambda's handler, so it needs the Lambda's variables."""
    template = load("stack.yaml")
    lambda_variables = resolve(template)["Resources"]["LogoutFunction"]["Properties"]["Environment"][
        "Variables"
    ]
    in_lambda_mode = container_environment(resolve(template))
    in_app_mode = container_environment(resolve(template, LogoutBy="app"))
    added = {name: value for name, value in in_app_mode.items() if name not in in_lambda_mode}
    # The Lambda runtime sets AWS_REGION itself; the container gets it from the template.
    assert added == {**lambda_variables, "AWS_REGION": {"Ref": "AWS::Region"}}
    assert not set(lambda_variables) & set(in_lambda_mode), "lambda mode leaves the container alone"
    read = set(re.findall(r'_(?:env|url)\(env, "([A-Z_]+)"', LAMBDA_SOURCE))
    assert set(added) <= read, set(added) - read
    assert {"APP_LOGOUT_URL", "COGNITO_CLIENT_ID", "SESSION_COOKIE_NAME", "AWS_REGION"} <= set(added)


def test_resolver_is_live() -> None:
    """Guards the tests above: an unknown parameter and a false condition are noticed."""
    template = load("logout.yaml")
    with pytest.raises(AssertionError):
        resolve(template, LogoutVia="app")
    broken = {**template, "Resources": {**template["Resources"]}}
    broken["Resources"]["LogoutRule"] = {**template["Resources"]["LogoutRule"], "Condition": "LogoutByLambda"}
    deployed = resolve(broken, AppTargetGroupArn=APP_TG)
    assert "LogoutRule" not in deployed["Resources"]
    dangling = resolve(template, AppTargetGroupArn=APP_TG)
    dangling["Outputs"]["Stale"] = {"Value": {"Fn::GetAtt": ["LogoutFunction", "Arn"]}}
    with pytest.raises(AssertionError, match="LogoutFunction"):
        assert_nothing_dangles(dangling)


# The logout rule takes its path out of sign-in; with LogoutBy app it forwards there to the app.
APP_PATHS = [
    "/",
    "/_stcore/health",
    "/_stcore/stream",
    "/_stcore",
    "/static/js/main.js",
    "/media/abc.png",
    "/component/x/index.html",
    "/app/static/report.pdf",
    "/auth/login",
    "/oauth2/idpresponse",
    "/oauth2callback",
    "//evil.example",
    "/cognito/../_stcore/health",
    "/./",
]
OWN_PATHS = [LOGOUT_PATH, "/logout", "/auth-logout", "/app/logout", "/sign.out/now"]


@pytest.mark.parametrize("name", list(APP_MODE))
def test_logout_path_pattern_is_the_app_route_s_own_rule(name) -> None:
    assert load(name)["Parameters"]["LogoutPath"]["AllowedPattern"] == LOGOUT_PATH_PATTERN.pattern


@pytest.mark.parametrize("name", list(APP_MODE))
@pytest.mark.parametrize("path", APP_PATHS)
def test_a_logout_path_the_app_serves_is_refused_before_deploying(name, path) -> None:
    with pytest.raises(ValueError, match="LogoutPath"):
        resolve(load(name), LogoutPath=path, **APP_MODE[name][0])
    with pytest.raises(UnsafeLogoutPathError):
        logout_route(path)


@pytest.mark.parametrize("path", OWN_PATHS)
def test_a_logout_path_of_its_own_is_accepted(path) -> None:
    for name in APP_MODE:
        resolve(load(name), LogoutPath=path, **APP_MODE[name][0])
    assert logout_route(path).path == path


@pytest.mark.parametrize("name", list(APP_MODE))
def test_cfn_lint_applies_the_pattern(name) -> None:
    """cfn-lint (the tool users run) reads the same pattern: "/" as the default is an error."""
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    assert text.count("Default: /cognito/logout") == 1
    matches = lint(
        text.replace("Default: /cognito/logout", 'Default: "/"'), config=ManualArgs(regions=["us-east-1"])
    )
    assert [m.rule.id for m in matches] == ["E2015"], [m.message for m in matches]
