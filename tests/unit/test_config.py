"""Settings resolution: precedence, the ARN list forms, type checks, empty means unset; bad values refused."""

from __future__ import annotations

import pytest

from streamlit_alb_auth import errors
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.testing import LocalAlbSigner
from streamlit_alb_auth.verify import AlbArn

SIGNER = LocalAlbSigner()
ARABIC_INDIC_DIGITS = "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662"

ARN_1 = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/one/0123456789abcdef"
ARN_2 = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/two/0123456789abcdef"
ARN_3 = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/three/0123456789abcdef"
SOURCE_VALUES = {
    "client_id": ("arg-client", "env-client", "secret-client"),
    "issuer": ("https://arg.example.com", "https://env.example.com", "https://secret.example.com"),
    "key_url": ("https://arg.example.com/k", "https://env.example.com/k", "https://secret.example.com/k"),
    "user_pool_id": ("us-east-1_Arg", "us-east-1_Env", "us-east-1_Secret"),
    "jwks_url": ("https://arg.example.com/j", "https://env.example.com/j", "https://secret.example.com/j"),
}


def resolve(arguments=None, environ=None, secrets=None):
    return resolve_settings(arguments or {}, environ=environ or {}, secrets=secrets or {})


@pytest.mark.parametrize("name", sorted(SOURCE_VALUES))
def test_each_setting_comes_from_argument_then_environment_then_secrets(name):
    argument, env, secret = SOURCE_VALUES[name]
    variable = f"ALB_AUTH_{name.upper()}"
    assert getattr(resolve({name: argument}, {variable: env}, {name: secret}), name) == argument
    assert getattr(resolve({name: None}, {variable: env}, {name: secret}), name) == env
    assert getattr(resolve({}, {}, {name: secret}), name) == secret
    assert getattr(resolve({}, {}, {}), name) is None
    others = set(SOURCE_VALUES) - {name}
    settings = resolve({name: argument})
    assert all(getattr(settings, other) is None for other in others)


def test_the_alb_arn_comes_from_argument_then_environment_then_secrets():
    env = {"ALB_AUTH_ALB_ARN": ARN_2}
    secrets = {"alb_arn": ARN_3}
    assert resolve({"alb_arn": ARN_1}, env, secrets).alb_arns == (ARN_1,)
    assert resolve({}, env, secrets).alb_arns == (ARN_2,)
    assert resolve({}, {}, secrets).alb_arns == (ARN_3,)
    assert resolve().alb_arns == ()


def test_the_environment_arn_is_comma_separated():
    env = {"ALB_AUTH_ALB_ARN": f" {ARN_1} ,{ARN_2},, {ARN_3}, "}
    assert resolve({}, env).alb_arns == (ARN_1, ARN_2, ARN_3)


def test_an_arn_list_from_arguments_or_secrets_keeps_its_order():
    assert resolve({"alb_arn": [ARN_2, ARN_1]}).alb_arns == (ARN_2, ARN_1)
    assert resolve({}, {}, {"alb_arn": [ARN_3, ARN_1]}).alb_arns == (ARN_3, ARN_1)
    assert resolve({"alb_arn": (ARN_1,)}).alb_arns == (ARN_1,)


@pytest.mark.parametrize("value", [5, 1.5, {"arn": ARN_1}.items(), [ARN_1, 5], [None], True])
def test_an_alb_arn_that_is_not_strings_is_refused(value):
    with pytest.raises(errors.ConfigurationError, match="alb_arn"):
        resolve({}, {}, {"alb_arn": value})


@pytest.mark.parametrize("name", sorted(SOURCE_VALUES))
@pytest.mark.parametrize("value", [5, ["x"], {"a": "b"}, True])
def test_a_setting_from_secrets_that_is_not_a_string_is_refused(name, value):
    with pytest.raises(errors.ConfigurationError, match=name):
        resolve({}, {}, {name: value})


@pytest.mark.parametrize("name", sorted(SOURCE_VALUES))
def test_an_empty_string_means_unset(name):
    secret = SOURCE_VALUES[name][2]
    variable = f"ALB_AUTH_{name.upper()}"
    assert getattr(resolve({}, {}, {name: ""}), name) is None
    assert getattr(resolve({}, {variable: ""}, {name: secret}), name) == secret
    assert getattr(resolve({}, {variable: ""}, {}), name) is None


def test_an_empty_environment_arn_falls_through_to_secrets():
    assert resolve({}, {"ALB_AUTH_ALB_ARN": ""}, {"alb_arn": ARN_3}).alb_arns == (ARN_3,)
    assert resolve({}, {"ALB_AUTH_ALB_ARN": " , "}, {}).alb_arns == ()


def test_the_process_environment_is_read_by_default(monkeypatch):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", ARN_1)
    monkeypatch.setenv("ALB_AUTH_CLIENT_ID", "from-env")
    settings = resolve_settings({}, secrets={})
    assert settings.alb_arns == (ARN_1,) and settings.client_id == "from-env"


def test_settings_are_hashable_and_equal_by_value():
    first = resolve({"alb_arn": [ARN_1], "client_id": "c"})
    second = resolve({}, {"ALB_AUTH_ALB_ARN": ARN_1, "ALB_AUTH_CLIENT_ID": "c"})
    assert first == second and hash(first) == hash(second)


def test_a_missing_secrets_file_is_believed_for_two_seconds_then_looked_for_again(tmp_path, monkeypatch):
    import types

    import streamlit
    from streamlit import config as streamlit_config
    from streamlit.runtime.secrets import Secrets

    from streamlit_alb_auth import config

    secrets_file = tmp_path / "secrets.toml"
    previous = streamlit_config.get_option("secrets.files")
    streamlit_config.set_option("secrets.files", [str(secrets_file)])
    monkeypatch.setattr(streamlit, "secrets", Secrets())
    now = [1000.0]  # the module's clock, so a slow machine cannot stretch "within two seconds"
    monkeypatch.setattr(config, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    try:
        assert resolve_settings({}, environ={}).alb_arns == ()
        secrets_file.write_text(f'[alb_auth]\nalb_arn = "{ARN_1}"\n')
        now[0] += 1.9
        assert resolve_settings({}, environ={}).alb_arns == ()  # within two seconds: not looked for
        now[0] += 0.2
        assert resolve_settings({}, environ={}).alb_arns == (ARN_1,)
    finally:
        streamlit_config.set_option("secrets.files", previous)


# Settings checked at resolution: each bad value fails at once.
#
# Each bad value fails ``resolve_settings`` at once, naming the setting and its source, never the value.


ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/one/0123456789abcdef"


SECRET_LOOKING = "s3cr3t-value-never-shown"


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
    from streamlit_alb_auth.fingerprint import provider_identity

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


def test_non_ascii_digits_are_not_an_arn_or_a_pool_id():
    arn = f"arn:aws:elasticloadbalancing:us-east-1:{ARABIC_INDIC_DIGITS}:loadbalancer/app/a/0123456789abcdef"
    with pytest.raises(errors.ConfigurationError):
        AlbArn.parse(arn)
    with pytest.raises(errors.ConfigurationError):
        AlbArn.parse(SIGNER.alb_arn.replace("us-east-1", "us-east-\u0661"))
    with pytest.raises(errors.ConfigurationError, match="user_pool_id"):
        resolve_settings({"user_pool_id": "us-east-\u0661_Pool"}, environ={}, secrets={})


@pytest.mark.parametrize(
    ("source", "setting"),
    [
        ({"alb_arn": "arn:aws:s3:::bucket"}, "alb_arn"),
        ({"alb_arn": [SIGNER.alb_arn, "not-an-arn"]}, "alb_arn"),
        ({"key_url": "http://keys.example.com"}, "key_url"),
        ({"jwks_url": "https://keys.example.com\\@127.0.0.1/"}, "jwks_url"),
        ({"oidc_issuer": "https://idp.example.com/ x"}, "oidc_issuer"),
        ({"userinfo_url": "https://u:p@idp.example.com/userinfo"}, "userinfo_url"),
        ({"issuer": "https://idp.example.com/\n"}, "issuer"),
        ({"user_pool_id": "not-a-pool"}, "user_pool_id"),
        ({"groups_claim": "two words"}, "groups_claim"),
        ({"userinfo": "maybe"}, "userinfo"),
        ({"groups_provider": "not callable"}, "groups_provider"),
    ],
)
def test_a_bad_setting_is_named_at_once(source, setting):
    with pytest.raises(errors.ConfigurationError) as raised:
        resolve_settings(source, environ={}, secrets={})
    assert raised.value.setting == setting
    assert setting in str(raised.value)


def test_the_source_of_a_bad_setting_is_named():
    with pytest.raises(errors.ConfigurationError, match="ALB_AUTH_ALB_ARN variable"):
        resolve_settings({}, environ={"ALB_AUTH_ALB_ARN": "arn:nope"}, secrets={})
    with pytest.raises(errors.ConfigurationError, match=r"\[alb_auth\] key_url secret"):
        resolve_settings({}, environ={}, secrets={"key_url": "ftp://x"})
