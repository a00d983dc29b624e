"""The CloudFormation templates (cfn-lint, inlined code, listener rules) and ``template`` command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode
from helpers.cfn_resolve import resolve

from streamlit_alb_auth.templates import FILES, write_template
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "streamlit_alb_auth" / "templates"
LAMBDA_SOURCE = (TEMPLATES / "logout_lambda.py").read_bytes()
SIGNED_OUT_PAGE = (TEMPLATES / "signed_out.html").read_text(encoding="utf-8")
# CloudFormation no longer limits inline ZipFile code to 4096 characters (aws-cdk #20624); this
# bound only keeps the Lambda small enough to read in one sitting.
MAX_LAMBDA_CHARS = 14_000
YAMLS = ["logout.yaml", "stack.yaml"]


def load(name: str) -> dict:
    """Parse with cfn-lint's loader, which understands ``!Ref``, ``!Sub`` and friends.

    stack.yaml comes with its IdentityProvider switch at cognito (its other switches stay as written);
    tests/templates/test_templates_oidc.py checks the oidc side.
    """
    template, problems = decode(str(TEMPLATES / name))
    assert not problems, problems
    return cognito_mode(template)


def cognito_mode(node: object) -> object:
    """``node`` with every ``Fn::If`` on UseOidc / UseCognito replaced by its Cognito branch."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"} and node["Fn::If"][0] in ("UseOidc", "UseCognito"):
            condition, yes, no = node["Fn::If"]
            return cognito_mode(yes if condition == "UseCognito" else no)
        return {key: cognito_mode(item) for key, item in node.items()}
    if isinstance(node, list):
        return [cognito_mode(item) for item in node]
    return node


def resources_of(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def authenticates(actions: list[dict]) -> bool:
    return any(action["Type"].startswith("authenticate-") for action in actions)


def path_rule(template: dict, path: object) -> dict:
    rules = [
        rule["Properties"]
        for rule in resources_of(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
        if any(
            c.get("PathPatternConfig", {}).get("Values") == [path] for c in rule["Properties"]["Conditions"]
        )
    ]
    assert len(rules) == 1, f"expected one rule for {path}, found {len(rules)}"
    return rules[0]


@pytest.mark.parametrize("name", YAMLS)
def test_cfn_lint_reports_nothing(name) -> None:
    matches = lint_file(TEMPLATES / name, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches] == []


def test_cfn_lint_is_live(tmp_path) -> None:
    """Guards the test above: a broken template must produce matches."""
    broken = tmp_path / "logout.yaml"
    broken.write_text(
        (TEMPLATES / "logout.yaml").read_text().replace("TargetType: lambda", "TargetType: lambada")
    )
    assert any(m.rule.id.startswith("E") for m in lint_file(broken, config=ManualArgs()))


def test_the_cognito_domain_exists_whenever_cloudformation_accepts_cognito_mode() -> None:
    """The domain's own condition adds "a prefix is given" (so cfn-lint does not check the default "" against
    Cognito's pattern); the rule refuses cognito mode without a prefix, so no stack that deploys lacks it."""
    template, problems = decode(str(TEMPLATES / "stack.yaml"))
    assert not problems, problems
    rule = template["Rules"]["CognitoNeedsItsDomain"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "IdentityProvider"}, "cognito"]}
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "CognitoDomainPrefix"}, ""]}]} in [
        assertion["Assert"] for assertion in rule["Assertions"]
    ]
    assert template["Resources"]["UserPoolDomain"]["Condition"] == "CognitoWithDomain"
    assert resolve(template, CognitoDomainPrefix="my-app")["Resources"]["UserPoolDomain"]["Properties"] == {
        "Domain": {"Ref": "CognitoDomainPrefix"},
        "UserPoolId": {"Ref": "UserPool"},
    }
    assert "UserPoolDomain" not in resolve(template, IdentityProvider="oidc")["Resources"]


@pytest.mark.parametrize("name", YAMLS)
def test_inlined_lambda_is_logout_lambda_py_byte_for_byte(name) -> None:
    function = load(name)["Resources"]["LogoutFunction"]["Properties"]
    assert function["Code"]["ZipFile"].encode("utf-8") == LAMBDA_SOURCE, (
        f"{name} is out of date: re-inline logout_lambda.py into its ZipFile block"
    )
    assert len(function["Code"]["ZipFile"]) <= MAX_LAMBDA_CHARS
    assert function["Handler"] == "index.lambda_handler"
    assert function["Runtime"] == "python3.12"


@pytest.mark.parametrize("name", YAMLS)
def test_lambda_environment_names_are_the_ones_the_code_reads(name) -> None:
    read = set(re.findall(r'_(?:env|url)\(env, "([A-Z_]+)"', LAMBDA_SOURCE.decode()))
    assert {"APP_LOGOUT_URL", "IDP_LOGOUT_URL", "COGNITO_IDP_ENDPOINT"} <= read, "the pattern went stale"
    variables = load(name)["Resources"]["LogoutFunction"]["Properties"]["Environment"]["Variables"]
    assert {"COGNITO_CLIENT_ID", "APP_LOGOUT_URL", "SESSION_COOKIE_NAME"} <= set(variables)
    assert set(variables) <= read - {"AWS_REGION"}, set(variables) - read


def logout_target(template: dict) -> dict:
    """The logout rule's target: the Lambda's group (logout.yaml: the app's if AppTargetGroupArn is set)."""
    if "LogoutByApp" not in template.get("Conditions", {}):
        return {"Ref": "LogoutTargetGroup"}
    # stack.yaml (LogoutBy app) forwards to its own ECS target group
    app = "AppTargetGroupArn" if "AppTargetGroupArn" in template["Parameters"] else "AppTargetGroup"
    return {"Fn::If": ["LogoutByApp", {"Ref": app}, {"Ref": "LogoutTargetGroup"}]}


def test_logout_yaml_switches_between_the_lambda_and_the_apps_own_route() -> None:
    """AppTargetGroupArn set: the rule forwards to the app (alb_auth()'s logout route); no Lambda exists."""
    template = load("logout.yaml")
    assert template["Parameters"]["AppTargetGroupArn"]["Default"] == ""
    assert template["Conditions"]["LogoutByApp"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AppTargetGroupArn"}, ""]}]
    }
    assert template["Conditions"]["LogoutByLambda"] == {"Fn::Equals": [{"Ref": "AppTargetGroupArn"}, ""]}
    lambda_parts = {name for name, resource in template["Resources"].items() if name.startswith("Logout")}
    lambda_parts.discard("LogoutRule")
    assert lambda_parts == {
        "LogoutLogGroup",
        "LogoutRole",
        "LogoutFunction",
        "LogoutPermission",
        "LogoutTargetGroup",
    }
    assert all(template["Resources"][name]["Condition"] == "LogoutByLambda" for name in lambda_parts)
    assert "Condition" not in template["Resources"]["LogoutRule"]


def revoking_actions(template: dict) -> list[dict]:
    """The logout rule's actions when it can revoke (logout.yaml: only with UserPoolArn set)."""
    actions = path_rule(template, {"Ref": "LogoutPath"})["Actions"]
    if "Fn::If" in actions:
        condition, revoking, plain = actions["Fn::If"]
        assert condition == "Revokes"
        assert template["Conditions"]["Revokes"] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": "UserPoolArn"}, ""]}]
        }
        assert plain == [{"Type": "forward", "TargetGroupArn": logout_target(template)}]
        return revoking
    return actions


@pytest.mark.parametrize("name", YAMLS)
def test_logout_rule_authenticates_with_allow_then_forwards_to_a_multi_value_lambda_target(name) -> None:
    template = load(name)
    authenticate, forward = sorted(revoking_actions(template), key=lambda action: action["Order"])
    assert authenticate["Type"] == "authenticate-cognito"
    config = authenticate["AuthenticateCognitoConfig"]
    assert config["OnUnauthenticatedRequest"] == "allow", "a request without a session must still log out"
    assert config["SessionCookieName"] == {"Ref": "SessionCookieName"}
    assert config["SessionTimeout"] == {"Ref": "SessionTimeout"}
    assert forward == {"Type": "forward", "Order": 2, "TargetGroupArn": logout_target(template)}
    assert template["Parameters"]["LogoutPath"]["Default"] == LOGOUT_PATH
    assert template["Parameters"]["SessionTimeout"]["Default"] == 28800

    group = template["Resources"]["LogoutTargetGroup"]
    assert group["Properties"]["TargetType"] == "lambda"
    assert group["Properties"]["Targets"] == [{"Id": {"Fn::GetAtt": ["LogoutFunction", "Arn"]}}]
    attributes = {a["Key"]: a["Value"] for a in group["Properties"]["TargetGroupAttributes"]}
    assert attributes["lambda.multi_value_headers.enabled"] == "true"
    assert group.get("DependsOn") in ("LogoutPermission", ["LogoutPermission"]), "checked on register"

    permission = template["Resources"]["LogoutPermission"]["Properties"]
    assert permission["Principal"] == "elasticloadbalancing.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"


@pytest.mark.parametrize("name", YAMLS)
def test_lambda_role_can_only_write_logs(name) -> None:
    role = load(name)["Resources"]["LogoutRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    actions = [
        action
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in statement["Action"]
    ]
    assert actions and all(action.startswith("logs:") for action in actions)


def test_stack_health_check_bypasses_sign_in_before_anything_authenticates() -> None:
    template = load("stack.yaml")
    health = path_rule(template, "/_stcore/health")
    assert not authenticates(health["Actions"])
    assert health["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "AppTargetGroup"}}]
    assert health["ListenerArn"] == {"Ref": "HttpsListener"}

    https = template["Resources"]["HttpsListener"]["Properties"]
    default = sorted(https["DefaultActions"], key=lambda action: action["Order"])
    assert [a["Type"] for a in default] == ["authenticate-cognito", "forward"]
    authenticating = [
        rule["Properties"]["Priority"]
        for rule in resources_of(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
        if authenticates(rule["Properties"]["Actions"])
    ]
    assert all(health["Priority"] < priority for priority in authenticating)
    assert template["Resources"]["AppTargetGroup"]["Properties"]["HealthCheckPath"] == "/_stcore/health"


def test_stack_rule_priorities_are_unique() -> None:
    rules = resources_of(load("stack.yaml"), "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    priorities = [rule["Properties"]["Priority"] for rule in rules]
    assert len(priorities) == len(set(priorities)) >= 2


def test_stack_sign_in_client_and_listener() -> None:
    resources = load("stack.yaml")["Resources"]
    client = resources["UserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is True, "the ALB is a confidential client"
    assert client["AllowedOAuthFlows"] == ["code"]
    assert set(client["AllowedOAuthScopes"]) == {
        "openid",
        "email",
        "profile",
        "aws.cognito.signin.user.admin",
    }
    assert client["CallbackURLs"] == [{"Fn::Sub": "https://${DomainName}/oauth2/idpresponse"}]
    assert client["LogoutURLs"] == [
        resources["LogoutFunction"]["Properties"]["Environment"]["Variables"]["APP_LOGOUT_URL"]
    ]

    cognito = resources["HttpsListener"]["Properties"]["DefaultActions"][0]["AuthenticateCognitoConfig"]
    assert cognito["UserPoolClientId"] == {"Ref": "UserPoolClient"}
    assert cognito["SessionCookieName"] == {"Ref": "SessionCookieName"}
    assert (
        resources["HttpListener"]["Properties"]["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"
    )


def test_stack_keeps_websockets_and_sessions_on_one_task() -> None:
    resources = load("stack.yaml")["Resources"]
    alb = {a["Key"]: a["Value"] for a in resources["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert int(alb["idle_timeout.timeout_seconds"]) >= 3600
    group = {a["Key"]: a["Value"] for a in resources["AppTargetGroup"]["Properties"]["TargetGroupAttributes"]}
    assert group["stickiness.enabled"] == "true"
    assert group["stickiness.type"] == "lb_cookie"


def test_stack_passes_the_package_configuration_to_the_container() -> None:
    resources = resolve(load("stack.yaml"))["Resources"]
    (container,) = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    env = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert env["ALB_AUTH_ALB_ARN"] == {"Ref": "LoadBalancer"}
    assert env["ALB_AUTH_CLIENT_ID"] == {"Ref": "UserPoolClient"}
    assert env["ALB_AUTH_USER_POOL_ID"] == {"Ref": "UserPool"}
    assert env["ALB_AUTH_ISSUER"] == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"
    }
    assert resources["Service"]["Properties"]["LaunchType"] == "FARGATE"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", "streamlit_alb_auth", "template", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("kind", "note"),
    [
        ("lambda", "lambda.multi_value_headers.enabled"),
        ("logout-stack", "ListenerArn="),
        ("stack", "CertificateArn="),
    ],
)
def test_cli_writes_the_template_and_prints_the_note(tmp_path, kind, note) -> None:
    result = run_cli(kind, "--out", "deploy/aws", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    written = tmp_path / "deploy" / "aws" / FILES[kind]
    assert written.read_bytes() == (TEMPLATES / FILES[kind]).read_bytes()
    assert [p.name for p in written.parent.iterdir()] == [FILES[kind]]
    assert str(Path("deploy/aws") / FILES[kind]) in result.stdout
    assert note in result.stdout


def test_cli_refuses_to_overwrite_a_different_file(tmp_path) -> None:
    edited = tmp_path / "logout.yaml"
    edited.write_text("# my edits\n")

    result = run_cli("logout-stack", "--out", str(tmp_path), cwd=tmp_path)

    assert result.returncode == 1
    assert "exists" in result.stderr
    assert edited.read_text() == "# my edits\n"


def test_rewriting_an_identical_file_succeeds(tmp_path, capsys) -> None:
    assert write_template("stack", tmp_path) == 0
    assert write_template("stack", tmp_path) == 0
    assert (tmp_path / "stack.yaml").read_bytes() == (TEMPLATES / "stack.yaml").read_bytes()
    assert capsys.readouterr().out.count("aws cloudformation deploy") == 2


def test_out_that_is_a_file_is_an_error_not_a_traceback(tmp_path, capsys) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert write_template("lambda", blocker) == 1
    assert "cannot write" in capsys.readouterr().err


def test_unknown_kind_is_rejected(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown template"):
        write_template("terraform", tmp_path)
    assert not any(tmp_path.iterdir())


def signed_out_rule(template: dict, path: object) -> dict:
    rule = path_rule(template, path)
    (action,) = rule["Actions"]
    assert action["Type"] == "fixed-response"
    return rule | {"FixedResponseConfig": action["FixedResponseConfig"]}


@pytest.mark.parametrize(
    ("name", "path"), [("logout.yaml", {"Ref": "SignedOutPath"}), ("stack.yaml", "/signed-out")]
)
def test_signed_out_page_is_a_fixed_response_before_sign_in(name, path) -> None:
    template = load(name)
    rule = signed_out_rule(template, path)
    response = rule["FixedResponseConfig"]
    assert response == {"StatusCode": "200", "ContentType": "text/html", "MessageBody": SIGNED_OUT_PAGE}
    assert len(SIGNED_OUT_PAGE) <= 1024, "the ALB's fixed-response body limit"
    assert "You have signed out" in SIGNED_OUT_PAGE
    assert '<a href="/">Sign in again</a>' in SIGNED_OUT_PAGE
    # A rule of its own matches before the listener's default action, which is where sign-in happens.
    assert not authenticates(rule["Actions"])
    if name == "logout.yaml":
        assert template["Parameters"]["SignedOutPath"]["Default"] == "/signed-out"
        assert rule["Priority"] == {"Ref": "SignedOutPriority"}


def test_stack_signs_out_to_the_signed_out_page_with_a_bounded_session() -> None:
    template = load("stack.yaml")
    resources = template["Resources"]
    client = resources["UserPoolClient"]["Properties"]
    assert client["LogoutURLs"] == [{"Fn::Sub": "https://${DomainName}/signed-out"}]
    assert client["AccessTokenValidity"] == {"Ref": "AccessTokenMinutes"}
    assert client["TokenValidityUnits"]["AccessToken"] == "minutes"
    assert template["Parameters"]["AccessTokenMinutes"]["Default"] == 15
    cognito = resources["HttpsListener"]["Properties"]["DefaultActions"][0]["AuthenticateCognitoConfig"]
    assert cognito["SessionTimeout"] == {"Ref": "SessionTimeout"}
    assert template["Parameters"]["SessionTimeout"]["Default"] < 604800


def test_logout_stack_needs_an_idp_and_passes_the_oidc_settings() -> None:
    template = load("logout.yaml")
    variables = template["Resources"]["LogoutFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["IDP_LOGOUT_URL"] == {"Ref": "IdpLogoutUrl"}
    assert variables["IDP_REDIRECT_PARAM"] == {"Ref": "IdpRedirectParam"}
    assert variables["IDP_CLIENT_ID"] == {"Ref": "IdpClientId"}
    assert template["Parameters"]["IdpRedirectParam"]["Default"] == "post_logout_redirect_uri"
    asserted = template["Rules"]["IdpGiven"]["Assertions"][0]["Assert"]["Fn::Or"]
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "IdpLogoutUrl"}, ""]}]} in asserted


@pytest.mark.parametrize("name", YAMLS)
def test_the_templates_literal_defaults_are_the_lambda_s_constants(name) -> None:
    """The YAML spells them (CloudFormation cannot import); the Lambda module defines them once."""

    parameters = load(name)["Parameters"]
    assert parameters["LogoutPath"]["Default"] == LOGOUT_PATH
    assert parameters["SessionCookieName"]["Default"] == SESSION_COOKIE
