"""The templates make logout's revocation possible: every Cognito sign-in asks for the scope that
GlobalSignOut needs, the app client allows it, and an optional prompt=login closes the other-device gap."""

from __future__ import annotations

import pytest
from cfnlint.decode import decode
from helpers.cfn_resolve import resolve
from helpers.templates import MODES, OIDC, TEMPLATES, sign_in_actions

from streamlit_alb_auth.templates.logout_lambda import SIGN_OUT_SCOPE


def load(name: str) -> dict:
    template, problems = decode(str(TEMPLATES / name))
    assert not problems, problems
    return template


@pytest.mark.parametrize("logout_by", MODES)
def test_every_cognito_sign_in_asks_for_the_sign_out_scope_and_the_client_allows_it(logout_by):
    deployed = resolve(load("stack.yaml"), **MODES[logout_by])
    allowed = set(deployed["Resources"]["UserPoolClient"]["Properties"]["AllowedOAuthScopes"])
    actions = sign_in_actions(deployed)
    assert [action["Type"] for action in actions] == ["authenticate-cognito"] * 2
    for action in actions:
        asked = action["AuthenticateCognitoConfig"]["Scope"].split(" ")
        assert SIGN_OUT_SCOPE in asked
        assert set(asked) <= allowed, "the ALB may ask only for scopes the app client allows"
    assert allowed == {"openid", "email", "profile", SIGN_OUT_SCOPE}


def test_an_oidc_provider_is_not_asked_for_cognitos_scope():
    for action in sign_in_actions(resolve(load("stack.yaml"), **OIDC)):
        assert action["AuthenticateOidcConfig"]["Scope"] == "openid email profile"


def test_the_logout_add_on_asks_for_the_listeners_scope_with_the_sign_out_scope_by_default():
    template = load("logout.yaml")
    assert SIGN_OUT_SCOPE in template["Parameters"]["Scope"]["Default"].split(" ")
    pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc"
    deployed = resolve(template, UserPoolArn=pool, CognitoClientId="abc", CognitoDomainPrefix="auth")
    [authenticate] = [
        action
        for action in deployed["Resources"]["LogoutRule"]["Properties"]["Actions"]
        if action["Type"] == "authenticate-cognito"
    ]
    assert authenticate["AuthenticateCognitoConfig"]["Scope"] == {"Ref": "Scope"}
    assert authenticate["AuthenticateCognitoConfig"]["OnUnauthenticatedRequest"] == "allow"


def config_of(action: dict) -> dict:
    return action.get("AuthenticateCognitoConfig") or action["AuthenticateOidcConfig"]


@pytest.mark.parametrize("provider", [{}, OIDC], ids=["cognito", "oidc"])
def test_force_sign_in_prompt_adds_prompt_login_to_the_sign_in_rule_only(provider):
    plain = sign_in_actions(resolve(load("stack.yaml"), **provider))
    assert all("AuthenticationRequestExtraParams" not in config_of(action) for action in plain)
    forced = sign_in_actions(resolve(load("stack.yaml"), **provider, ForceSignInPrompt="true"))
    sign_in, logout = (config_of(action) for action in forced)
    assert sign_in["OnUnauthenticatedRequest"] == "authenticate"
    assert sign_in["AuthenticationRequestExtraParams"] == {"prompt": "login"}
    assert "AuthenticationRequestExtraParams" not in logout, "the logout rule never sends anyone to sign in"


def test_the_signed_out_page_says_what_logout_meant_on_each_device_and_fits_a_fixed_response():
    page = (TEMPLATES / "signed_out.html").read_text(encoding="utf-8")
    # ALB API reference, FixedResponseActionConfig: MessageBody is at most 1024 characters.
    assert len(page) <= 1024
    assert "This browser is signed out of this site, in all its tabs." in page
    assert "Other browsers and devices where you are signed in are not" in page
    assert '<a href="/">Sign in again</a>' in page
