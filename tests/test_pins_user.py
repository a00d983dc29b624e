"""Pins of ``get_alb_user`` and ``AlbUser`` (issue 14): a clean stop, settings passed as arguments, groups."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from pinning import Reply, ScriptedServer
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth import SESSION_STATE_KEY, AlbUser, get_alb_user
from streamlit_alb_auth.testing import LocalAlbSigner

SIGNER = LocalAlbSigner()
OTHER_ARN = "arn:aws:elasticloadbalancing:us-east-1:210987654321:loadbalancer/app/theirs/0123456789abcdef"
ADA = {"sub": "sub-ada", "email": "ada@example.com"}


@pytest.fixture(scope="module")
def key_url() -> Iterator[str]:
    with ScriptedServer({f"/alb/{SIGNER.kid}": Reply.body(SIGNER.public_key_pem)}) as server:
        yield server.url("/alb")


@pytest.fixture(autouse=True)
def clean(monkeypatch) -> None:
    for name in ("ALB_ARN", "CLIENT_ID", "ISSUER", "KEY_URL", "USER_POOL_ID", "JWKS_URL"):
        monkeypatch.delenv(f"ALB_AUTH_{name}", raising=False)
    st.session_state.pop(SESSION_STATE_KEY, None)


def stopping_page() -> None:
    import streamlit as st

    from streamlit_alb_auth import get_alb_user

    get_alb_user(headers={})
    st.markdown("after get_alb_user")


def test_required_stops_the_page_cleanly_with_st_stop(key_url, monkeypatch):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", SIGNER.alb_arn)
    at = AppTest.from_function(stopping_page).run(timeout=20)
    assert not at.exception  # st.stop() ended the run; nothing was raised past it
    assert [element.value for element in at.markdown] == []
    assert "x-amzn-oidc-data" in at.error[0].value


def secrets_page() -> None:
    import streamlit as st

    from streamlit_alb_auth import get_alb_user

    user = get_alb_user(required=False, headers=st.session_state["test_headers"])
    st.markdown(f"email={user.email}")


def test_settings_come_from_st_secrets(key_url):
    at = AppTest.from_function(secrets_page)
    at.session_state["test_headers"] = SIGNER.headers(ADA)
    at.secrets["alb_auth"] = {"alb_arn": [SIGNER.alb_arn], "key_url": key_url}
    at.run(timeout=20)
    assert not at.exception
    assert [element.value for element in at.markdown] == ["email=ada@example.com"]


def test_the_alb_arn_argument_is_used(key_url):
    user = get_alb_user(required=False, headers=SIGNER.headers(ADA), alb_arn=SIGNER.alb_arn, key_url=key_url)
    assert user.is_logged_in and user.email == "ada@example.com"


def test_the_alb_arn_argument_wins_over_the_environment(key_url, monkeypatch):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", SIGNER.alb_arn)
    user = get_alb_user(required=False, headers=SIGNER.headers(ADA), alb_arn=OTHER_ARN, key_url=key_url)
    assert not user.is_logged_in
    assert "SignerNotAllowedError" in (user.problem or "")


@pytest.mark.parametrize(
    ("setting", "value", "error"),
    [
        ("client_id", "another-client", "ClientMismatchError"),
        ("issuer", "https://another.example.com", "IssuerMismatchError"),
    ],
)
def test_client_and_issuer_arguments_are_enforced(key_url, setting, value, error):
    user = get_alb_user(
        required=False,
        headers=SIGNER.headers(ADA),
        alb_arn=SIGNER.alb_arn,
        key_url=key_url,
        **{setting: value},
    )
    assert not user.is_logged_in and error in (user.problem or "")
    st.session_state.pop(SESSION_STATE_KEY, None)
    right = {"client_id": SIGNER.client_id, "issuer": SIGNER.issuer}[setting]
    user = get_alb_user(
        required=False,
        headers=SIGNER.headers(ADA),
        alb_arn=SIGNER.alb_arn,
        key_url=key_url,
        **{setting: right},
    )
    assert user.is_logged_in


def test_the_key_url_argument_is_used(key_url):
    user = get_alb_user(
        required=False, headers=SIGNER.headers(ADA), alb_arn=SIGNER.alb_arn, key_url=key_url + "/nowhere"
    )
    assert not user.is_logged_in and "FetchResponseError" in (user.problem or "")


def test_headers_are_read_case_insensitively(key_url):
    headers = {name.upper(): value for name, value in SIGNER.headers(ADA).items()}
    user = get_alb_user(required=False, headers=headers, alb_arn=SIGNER.alb_arn, key_url=key_url)
    assert user.is_logged_in


def test_a_missing_identity_header_is_a_mismatch(key_url):
    headers = SIGNER.headers(ADA)
    del headers["x-amzn-oidc-identity"]
    user = get_alb_user(required=False, headers=headers, alb_arn=SIGNER.alb_arn, key_url=key_url)
    assert not user.is_logged_in and "IdentityMismatchError" in (user.problem or "")


def test_only_string_groups_from_a_list_count():
    assert AlbUser({"sub": "s"}, access_token_claims={"cognito:groups": ["a", 5, None, "b"]}).groups == (
        "a",
        "b",
    )
    assert AlbUser({"sub": "s"}, access_token_claims={"cognito:groups": {"a": 1}}).groups == ()


def test_username_prefers_the_verified_data_token():
    access = {"username": "from-access"}
    assert (
        AlbUser({"sub": "s", "username": "u", "cognito:username": "c"}, access_token_claims=access).username
        == "u"
    )
    assert AlbUser({"sub": "s", "cognito:username": "c", "preferred_username": "p"}).username == "c"
    assert AlbUser({"sub": "s", "preferred_username": "p"}, access_token_claims=access).username == "p"
    assert AlbUser({"sub": "s", "username": ""}, access_token_claims=access).username == "from-access"
    assert AlbUser({"sub": "s"}).username is None


def test_a_user_without_sub_is_not_logged_in():
    assert AlbUser({"sub": ""}).is_logged_in is False
    assert AlbUser({"email": "a@example.com"}).is_logged_in is False
    assert repr(AlbUser({"email": "a@example.com"})) == "AlbUser(is_logged_in=False)"
