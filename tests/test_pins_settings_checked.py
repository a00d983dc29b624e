"""Pins of settings checked at resolution (issue 14, after issue 10 item 15 and issue 11's settings).

Each bad value fails ``resolve_settings`` at once, naming the setting and its source, never the value.
"""

from __future__ import annotations

import pytest

from streamlit_alb_auth import errors
from streamlit_alb_auth.config import resolve_settings

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/one/0123456789abcdef"
SECRET_LOOKING = "s3cr3t-value-never-shown"


def resolve(arguments=None, environ=None, secrets=None):
    return resolve_settings(arguments or {}, environ=environ or {}, secrets=secrets or {})


@pytest.mark.parametrize(
    ("name", "value", "source_words"),
    [
        ("alb_arn", f"arn:aws:s3:::{SECRET_LOOKING}", "ALB_AUTH_ALB_ARN"),
        ("user_pool_id", f"us-east-1{SECRET_LOOKING}", "ALB_AUTH_USER_POOL_ID"),
        ("key_url", f"http://{SECRET_LOOKING}.example.com/keys", "ALB_AUTH_KEY_URL"),
        ("jwks_url", f"ftp://127.0.0.1/{SECRET_LOOKING}", "ALB_AUTH_JWKS_URL"),
        ("oidc_issuer", f"https://user:{SECRET_LOOKING}@idp.example.com", "ALB_AUTH_OIDC_ISSUER"),
        ("userinfo_url", f"https://idp.example.com/{SECRET_LOOKING} x", "ALB_AUTH_USERINFO_URL"),
        ("issuer", f"https://idp.example.com/\\{SECRET_LOOKING}", "ALB_AUTH_ISSUER"),
        ("groups_claim", f"my groups {SECRET_LOOKING}", "ALB_AUTH_GROUPS_CLAIM"),
        ("userinfo", f"maybe-{SECRET_LOOKING}", "ALB_AUTH_USERINFO"),
    ],
)
def test_a_bad_value_names_its_setting_and_source_but_not_the_value(name, value, source_words):
    with pytest.raises(errors.ConfigurationError) as caught:
        resolve({}, {f"ALB_AUTH_{name.upper()}": value})
    message = str(caught.value)
    assert name in message and source_words in message
    assert SECRET_LOOKING not in message


def test_a_bad_value_from_secrets_names_the_secret():
    with pytest.raises(errors.ConfigurationError) as caught:
        resolve({}, {}, {"key_url": "http://keys.example.com"})
    assert "[alb_auth] key_url secret" in str(caught.value)


def test_a_bad_argument_names_the_argument():
    with pytest.raises(errors.ConfigurationError) as caught:
        resolve({"alb_arn": ["nope"]})
    assert "argument" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(v, True) for v in ("1", "true", "Yes", " on ")] + [(v, False) for v in ("0", "false", "NO", "off", "")],
)
def test_userinfo_reads_yes_and_no_words(text, expected):
    assert resolve({}, {"ALB_AUTH_USERINFO": text}).userinfo is expected


def test_userinfo_takes_booleans_and_defaults_to_off():
    assert resolve({"userinfo": True}).userinfo is True
    assert resolve({}, {}, {"userinfo": False}).userinfo is False
    assert resolve().userinfo is False
    with pytest.raises(errors.ConfigurationError):
        resolve({}, {}, {"userinfo": 1})


def test_the_groups_claim_defaults_to_cognito_groups():
    assert resolve().groups_claim == "cognito:groups"
    assert resolve({}, {"ALB_AUTH_GROUPS_CLAIM": ""}).groups_claim == "cognito:groups"
    assert resolve({"groups_claim": "realm_access.roles"}).groups_claim == "realm_access.roles"


def test_a_groups_claim_is_at_most_200_printable_characters():
    assert resolve({"groups_claim": "g" * 200}).groups_claim == "g" * 200
    for bad in ("g" * 201, "tab\there", "é"):
        with pytest.raises(errors.ConfigurationError):
            resolve({"groups_claim": bad})


def test_a_groups_provider_must_be_callable():
    from streamlit_alb_auth.asgi import AlbAuthMiddleware

    with pytest.raises(errors.ConfigurationError):
        resolve({"groups_provider": ["admin"]})  # not a setting at all
    door = AlbAuthMiddleware(lambda *_: None, alb_arn=ARN, groups_provider=["admin"])
    assert isinstance(door.problem, errors.ConfigurationError) and door.problem.setting == "groups_provider"


def test_the_same_groups_provider_redefined_is_the_same_provider():
    from streamlit_alb_auth.session import provider_identity

    def provider(user):
        return ["a"]

    first = provider_identity(provider)

    def provider(user):  # redefined, as a rerun of the page script does
        return ["a"]

    assert provider_identity(provider) == first

    def another(user):
        return ["a"]

    assert provider_identity(another) != first
    assert resolve({"alb_arn": ARN}) == resolve({"alb_arn": ARN})  # settings are plain data
    assert not hasattr(resolve({"alb_arn": ARN}), "groups_provider")


def test_resolve_settings_takes_its_sources_by_keyword():
    with pytest.raises(TypeError):
        resolve_settings({}, {}, {})  # type: ignore[misc]


def test_valid_values_pass_unchanged():
    settings = resolve(
        {
            "alb_arn": ARN,
            "user_pool_id": "eu-west-1_AbC123",
            "key_url": "http://127.0.0.1:9000/keys",
            "jwks_url": "https://idp.example.com/jwks.json",
            "oidc_issuer": "https://idp.example.com/realms/main",
            "userinfo_url": "https://idp.example.com/userinfo",
            "issuer": "https://idp.example.com/realms/main",
        }
    )
    assert settings.alb_arns == (ARN,)
    assert settings.user_pool_id == "eu-west-1_AbC123"
    assert settings.key_url == "http://127.0.0.1:9000/keys"
