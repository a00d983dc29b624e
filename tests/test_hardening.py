"""Issue 10's security findings that live above the fetcher: each reproduced, each fixed.

Items 1, 3 and 4 (kid flood, URL parsing, fetch deadline) are in test_keys.py and test_fetch.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import jwt
import pytest
import streamlit as st
from pinning import Reply, ScriptedServer
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth import SESSION_STATE_KEY, errors, get_alb_user
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool
from streamlit_alb_auth.verify import AlbArn

SIGNER = LocalAlbSigner()
POOL = LocalCognitoPool()
OTHER_ARN = "arn:aws:elasticloadbalancing:us-east-1:210987654321:loadbalancer/app/theirs/0123456789abcdef"
ADA = {"sub": "sub-ada", "email": "ada@example.com"}
ARABIC_INDIC_DIGITS = "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662"


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    routes = {
        f"/alb/{SIGNER.kid}": Reply.body(SIGNER.public_key_pem),
        "/jwks.json": Reply.body(json.dumps(POOL.jwks).encode()),
    }
    with ScriptedServer(routes) as running:
        yield running


@pytest.fixture(autouse=True)
def clean(monkeypatch) -> None:
    for name in ("ALB_ARN", "CLIENT_ID", "ISSUER", "KEY_URL", "USER_POOL_ID", "JWKS_URL", "SHOW_DETAILS"):
        monkeypatch.delenv(f"ALB_AUTH_{name}", raising=False)
    st.session_state.pop(SESSION_STATE_KEY, None)


def pool_settings(server: ScriptedServer) -> dict[str, str]:
    return {
        "alb_arn": SIGNER.alb_arn,
        "key_url": server.url("/alb"),
        "user_pool_id": POOL.user_pool_id,
        "client_id": POOL.client_id,
        "jwks_url": server.url("/jwks.json"),
    }


# --- item 2: a stored user is reused only under the settings it was verified under ----------------------


def user_for(headers: dict[str, str], server: ScriptedServer, **settings):
    return get_alb_user(required=False, headers=headers, key_url=server.url("/alb"), **settings)


def test_a_narrowed_allowlist_applies_to_the_stored_user(server):
    headers = SIGNER.headers(ADA)
    both = get_alb_user(
        required=False, headers=headers, alb_arn=[OTHER_ARN, SIGNER.alb_arn], key_url=server.url("/alb")
    )
    assert both.is_logged_in
    narrowed = get_alb_user(required=False, headers=headers, alb_arn=[OTHER_ARN], key_url=server.url("/alb"))
    assert not narrowed.is_logged_in
    assert "SignerNotAllowedError" in (narrowed.problem or "")


def test_an_added_client_id_applies_to_the_stored_user(server):
    headers = SIGNER.headers(ADA)
    assert get_alb_user(
        required=False, headers=headers, alb_arn=SIGNER.alb_arn, key_url=server.url("/alb")
    ).sub
    user = get_alb_user(
        required=False, headers=headers, alb_arn=SIGNER.alb_arn, key_url=server.url("/alb"), client_id="other"
    )
    assert not user.is_logged_in and "ClientMismatchError" in (user.problem or "")


def test_equal_settings_reuse_the_stored_user_without_verifying(server):
    headers = SIGNER.headers(ADA)
    first = get_alb_user(required=False, headers=headers, alb_arn=SIGNER.alb_arn, key_url=server.url("/alb"))
    again = get_alb_user(
        required=False, headers=headers, alb_arn=[SIGNER.alb_arn], key_url=server.url("/alb")
    )
    assert again is first


# --- item 5: the Cognito JWKS goes through the bounded fetcher ---------------------------------------------


def test_a_32_mib_jwks_is_not_read_whole(server, caplog):
    server.routes["/huge-jwks.json"] = Reply(chunks=[b" " * 65536], repeat=512, length=False)
    settings = {**pool_settings(server), "jwks_url": server.url("/huge-jwks.json")}
    access = POOL.access_token("sub-ada", groups=["admin"])
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = get_alb_user(required=False, headers=SIGNER.headers(ADA, access_token=access), **settings)
    assert user.is_logged_in and user.groups == ()
    assert "FetchTooLargeError" in caplog.text


def test_the_pyjwt_floor_is_the_one_checked():
    from pathlib import Path

    setup = (Path(__file__).resolve().parent.parent / "setup.py").read_text()
    # Checked by running this suite on each: 2.0.0 lacks jwt.PyJWK; 2.1.0 ... 2.15 pass.
    assert '"PyJWT>=2.4,!=2.10.0"' in setup


# --- item 6: nothing from a token reaches a log line unescaped ------------------------------------------


@pytest.mark.parametrize("where", ["access kid", "access alg", "alb kid", "alb signer"])
def test_a_newline_in_a_token_cannot_forge_a_log_line(server, caplog, where):
    forged = "x\n2026-01-01 INFO streamlit_alb_auth: FORGED admin signed in"
    access = POOL.access_token("sub-ada", groups=["admin"])
    headers = SIGNER.headers(ADA, access_token=access)
    if where == "access kid":
        headers["x-amzn-oidc-accesstoken"] = jwt.encode(
            {"sub": "sub-ada"}, POOL.private_key, algorithm="RS256", headers={"kid": forged}
        )
    elif where == "access alg":
        header = jwt.utils.base64url_encode(json.dumps({"alg": forged, "kid": POOL.kid}).encode()).decode()
        headers["x-amzn-oidc-accesstoken"] = header + "." + access.split(".", 1)[1]
    elif where == "alb kid":
        headers["x-amzn-oidc-data"] = SIGNER.sign(ADA, header={"kid": forged})
    else:
        headers["x-amzn-oidc-data"] = SIGNER.sign(ADA, header={"signer": forged})
    with caplog.at_level(logging.DEBUG, logger="streamlit_alb_auth"):
        get_alb_user(required=False, headers=headers, **pool_settings(server))
    assert caplog.records, "the rejection must be logged"
    for record in caplog.records:
        assert "\n" not in record.getMessage()
        assert "\r" not in record.getMessage()


# --- item 7: visitors get a generic message; the detail goes to the log ------------------------------------


def page() -> None:
    from streamlit_alb_auth import get_alb_user

    get_alb_user(headers={})


def test_a_misconfigured_url_is_not_shown_to_visitors(monkeypatch, caplog):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", SIGNER.alb_arn)
    monkeypatch.setenv("ALB_AUTH_KEY_URL", "https://admin:hunter2@keys.example.com/keys")
    with caplog.at_level(logging.ERROR, logger="streamlit_alb_auth"):
        at = AppTest.from_function(page).run(timeout=20)
    shown = at.error[0].value
    assert "key_url" in shown and "server log" in shown
    assert "hunter2" not in shown and "keys.example.com" not in shown
    assert "key_url" in caplog.text and "user name or password" in caplog.text
    assert "hunter2" not in caplog.text


def test_the_developer_can_ask_for_details_on_the_page(monkeypatch):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", SIGNER.alb_arn)
    monkeypatch.setenv("ALB_AUTH_KEY_URL", "http://keys.example.com/keys")
    monkeypatch.setenv("ALB_AUTH_SHOW_DETAILS", "1")
    at = AppTest.from_function(page).run(timeout=20)
    assert "only on loopback" in at.error[0].value


def test_the_stand_in_shows_details_to_the_developer():
    from streamlit_alb_auth.devserver.config import DevConfig

    assert DevConfig(port=8080, streamlit_port=8501).app_environment().get("ALB_AUTH_SHOW_DETAILS") == "1"


# --- item 8: ASCII digits only --------------------------------------------------------------------------


def test_non_ascii_digits_are_not_an_arn_or_a_pool_id():
    arn = f"arn:aws:elasticloadbalancing:us-east-1:{ARABIC_INDIC_DIGITS}:loadbalancer/app/a/0123456789abcdef"
    with pytest.raises(errors.ConfigurationError):
        AlbArn.parse(arn)
    with pytest.raises(errors.ConfigurationError):
        AlbArn.parse(SIGNER.alb_arn.replace("us-east-1", "us-east-\u0661"))
    with pytest.raises(errors.ConfigurationError, match="user_pool_id"):
        resolve_settings({"user_pool_id": "us-east-\u0661_Pool"}, environ={}, secrets={})


# --- item 15: settings are checked as soon as they are resolved -----------------------------------------


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


def test_a_malformed_arn_is_reported_before_any_header_arrives(monkeypatch):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", "arn:aws:elasticloadbalancing:eu-west-1:123:loadbalancer/app/x/1")
    at = AppTest.from_function(page).run(timeout=20)
    assert "alb_arn" in at.error[0].value
    assert "x-amzn-oidc-data" not in at.error[0].value


# --- also: access tokens are checked only for a named client -----------------------------------------


def test_checking_access_tokens_requires_a_client_id(server):
    settings = {**pool_settings(server), "client_id": None}
    user = get_alb_user(required=False, headers=SIGNER.headers(ADA), **settings)
    assert not user.is_logged_in
    assert "client_id" in (user.problem or "")


def test_an_audience_may_stand_in_for_the_client_id(server):
    access = POOL.access_token("sub-ada", groups=["admin"])
    settings = {**pool_settings(server), "client_id": None, "audience": POOL.client_id}
    user = get_alb_user(required=False, headers=SIGNER.headers(ADA, access_token=access), **settings)
    assert user.groups == ("admin",)


def test_a_changed_environment_applies_to_the_stored_user(server, monkeypatch):
    headers = SIGNER.headers(ADA)
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", f"{OTHER_ARN},{SIGNER.alb_arn}")
    assert user_for(headers, server).is_logged_in
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", OTHER_ARN)
    assert "SignerNotAllowedError" in (user_for(headers, server).problem or "")
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", SIGNER.alb_arn)
    assert user_for(headers, server).is_logged_in
