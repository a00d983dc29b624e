"""get_alb_user() in a real Streamlit script (AppTest), against a real loopback key server."""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Iterator

import jwt
import pytest
import streamlit as st
from helpers.pinning import Reply, ScriptedServer
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth import SESSION_STATE_KEY, AlbUser, get_alb_user
from streamlit_alb_auth.session import VERIFIED_FOR_KEY
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, reset_state
from streamlit_alb_auth.verify import AlbJwtVerifier

ADA = {"sub": "sub-ada", "email": "ada@example.com", "username": "ada"}
BOB = {"sub": "sub-bob", "email": "bob@example.com", "username": "bob"}


def page() -> None:
    import streamlit as st

    from streamlit_alb_auth import get_alb_user

    user = get_alb_user(
        required=st.session_state.get("test_required", True), headers=st.session_state.get("test_headers")
    )
    st.markdown(f"logged_in={user.is_logged_in}")
    st.markdown(f"email={user.email}")
    st.markdown(f"groups={','.join(user.groups)}")


def texts(at: AppTest) -> list[str]:
    return [element.value for element in at.markdown]


def run_page(
    headers: dict[str, str] | None, *, required: bool = True, secrets: dict | None = None
) -> AppTest:
    at = AppTest.from_function(page)
    if headers is not None:
        at.session_state["test_headers"] = headers
    at.session_state["test_required"] = required
    if secrets:
        at.secrets.update(secrets)
    return at.run(timeout=20)


@pytest.fixture(autouse=True)
def fresh_shared_key_store():
    """Each test's key server has a new port, so a new URL: keep the per-minute fetch budget per test."""
    reset_state()


@pytest.fixture
def configured(monkeypatch, signer, pool, key_server):
    for name in ("ALB_ARN", "CLIENT_ID", "ISSUER", "KEY_URL", "USER_POOL_ID", "JWKS_URL"):
        monkeypatch.delenv(f"ALB_AUTH_{name}", raising=False)
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", signer.alb_arn)
    monkeypatch.setenv("ALB_AUTH_CLIENT_ID", signer.client_id)
    monkeypatch.setenv("ALB_AUTH_KEY_URL", key_server.alb_key_url)
    return key_server


@pytest.fixture
def with_user_pool(monkeypatch, configured, pool):
    monkeypatch.setenv("ALB_AUTH_USER_POOL_ID", pool.user_pool_id)
    monkeypatch.setenv("ALB_AUTH_JWKS_URL", configured.jwks_url)
    return configured


@pytest.fixture
def verify_calls(monkeypatch):
    calls: list[str] = []
    original = AlbJwtVerifier.verify_with_header

    def counting(self, token):
        calls.append(token)
        return original(self, token)

    monkeypatch.setattr(AlbJwtVerifier, "verify_with_header", counting)
    return calls


def test_verified_user_is_shown_and_kept_in_session_state(configured, signer):
    at = run_page(signer.headers(ADA))
    assert not at.exception
    assert texts(at) == ["logged_in=True", "email=ada@example.com", "groups="]
    stored = at.session_state[SESSION_STATE_KEY]
    assert isinstance(stored, AlbUser)
    assert stored.sub == "sub-ada" and stored.username == "ada"


def test_a_rerun_with_the_same_headers_verifies_nothing(configured, signer, verify_calls):
    at = run_page(signer.headers(ADA))
    at.run()
    at.run()
    assert texts(at)[1] == "email=ada@example.com"
    assert len(verify_calls) == 1


def test_changed_headers_refresh_the_user(configured, signer, verify_calls):
    at = run_page(signer.headers(ADA))
    at.session_state["test_headers"] = signer.headers(BOB)
    at.run()
    assert texts(at)[1] == "email=bob@example.com"
    assert at.session_state[SESSION_STATE_KEY].sub == "sub-bob"
    assert len(verify_calls) == 2


def test_clearing_the_session_user_verifies_again(configured, signer, verify_calls):
    at = run_page(signer.headers(ADA))
    del at.session_state[SESSION_STATE_KEY]
    at.run()
    assert texts(at)[1] == "email=ada@example.com"
    assert len(verify_calls) == 2


def test_missing_headers_stop_the_page_when_required(configured):
    at = run_page({})
    assert texts(at) == []
    assert "x-amzn-oidc-data" in at.error[0].value
    assert at.session_state[SESSION_STATE_KEY].is_logged_in is False


def test_st_context_headers_are_read_by_default(configured):
    at = run_page(None)  # AppTest has no request headers: the page must say so and stop
    assert texts(at) == []
    assert "did not come through an ALB" in at.error[0].value


def test_missing_headers_give_a_logged_out_user_when_optional(configured):
    at = run_page({}, required=False)
    assert texts(at) == ["logged_in=False", "email=None", "groups="]
    assert not at.error


@pytest.mark.parametrize("case", ["forged", "expired", "identity", "other-alb"])
def test_bad_tokens_stop_the_page_and_log_why_but_not_the_token(configured, signer, caplog, case):
    headers = signer.headers(ADA)
    if case == "forged":
        headers = LocalAlbSigner(kid=signer.kid).headers(ADA)
    elif case == "expired":
        headers = signer.headers(ADA, expires_in=-3600)
    elif case == "identity":
        headers["x-amzn-oidc-identity"] = "sub-bob"
    elif case == "other-alb":
        other = "arn:aws:elasticloadbalancing:us-east-1:210987654321:loadbalancer/app/theirs/0123456789abcdef"
        headers = LocalAlbSigner(alb_arn=other, kid=signer.kid).headers(ADA)
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        at = run_page(headers)
    assert texts(at) == []
    assert "could not be verified" in at.error[0].value
    expected = {
        "forged": "InvalidSignatureError",
        "expired": "TokenExpiredError",
        "identity": "IdentityMismatchError",
        "other-alb": "SignerNotAllowedError",
    }[case]
    assert expected in caplog.text
    assert headers["x-amzn-oidc-data"] not in caplog.text
    assert headers["x-amzn-oidc-data"].split(".")[2] not in caplog.text


def test_bad_token_when_optional_is_a_logged_out_user_with_a_reason(configured, signer):
    at = run_page(signer.headers(ADA, expires_in=-3600), required=False)
    assert texts(at)[0] == "logged_in=False"
    assert "TokenExpiredError" in at.session_state[SESSION_STATE_KEY].problem


def test_without_an_alb_arn_nothing_is_trusted(monkeypatch, signer):
    monkeypatch.delenv("ALB_AUTH_ALB_ARN", raising=False)
    at = run_page(signer.headers(ADA))
    assert texts(at) == []
    assert "ALB_AUTH_ALB_ARN" in at.error[0].value


def test_settings_from_secrets(monkeypatch, signer, key_server):
    for name in ("ALB_ARN", "CLIENT_ID", "ISSUER", "KEY_URL", "USER_POOL_ID", "JWKS_URL"):
        monkeypatch.delenv(f"ALB_AUTH_{name}", raising=False)
    secrets = {"alb_auth": {"alb_arn": [signer.alb_arn], "key_url": key_server.alb_key_url}}
    at = run_page(signer.headers(ADA), secrets=secrets)
    assert texts(at)[1] == "email=ada@example.com"


def test_environment_wins_over_secrets(configured, signer):
    wrong = "arn:aws:elasticloadbalancing:us-east-1:210987654321:loadbalancer/app/theirs/0123456789abcdef"
    at = run_page(signer.headers(ADA), secrets={"alb_auth": {"alb_arn": wrong}})
    assert texts(at)[1] == "email=ada@example.com"


def test_groups_come_from_a_verified_access_token(with_user_pool, signer, pool):
    headers = signer.headers(ADA, access_token=pool.access_token("sub-ada", groups=["admin", "staff"]))
    at = run_page(headers)
    assert texts(at)[2] == "groups=admin,staff"
    assert at.session_state[SESSION_STATE_KEY].access_token_claims["token_use"] == "access"


def test_groups_are_empty_without_a_user_pool(configured, signer, pool):
    headers = signer.headers(ADA, access_token=pool.access_token("sub-ada", groups=["admin"]))
    at = run_page(headers)
    assert texts(at)[:3] == ["logged_in=True", "email=ada@example.com", "groups="]


@pytest.mark.parametrize("case", ["forged", "other-user", "other-client", "id-token"])
def test_untrusted_access_tokens_give_no_groups(with_user_pool, signer, pool, caplog, case):
    if case == "forged":
        access = LocalCognitoPool(kid=pool.kid).access_token("sub-ada", groups=["admin"])
    elif case == "other-user":
        access = pool.access_token("sub-bob", groups=["admin"])
    elif case == "other-client":
        access = pool.access_token("sub-ada", groups=["admin"], claims={"client_id": "someone-else"})
    else:
        access = pool.access_token("sub-ada", groups=["admin"], claims={"token_use": "id"})
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        at = run_page(signer.headers(ADA, access_token=access))
    assert texts(at) == ["logged_in=True", "email=ada@example.com", "groups="]
    assert "AccessTokenError" in caplog.text


def test_bad_user_pool_id_fails_closed(monkeypatch, configured, signer):
    monkeypatch.setenv("ALB_AUTH_USER_POOL_ID", "not-a-pool")
    at = run_page(signer.headers(ADA))
    assert texts(at) == []
    assert "user pool" in at.error[0].value


def test_alb_user_feels_like_st_user():
    user = AlbUser({"sub": "s", "email": "e@example.com", "custom:team": "blue"})
    assert user.is_logged_in and user["is_logged_in"] is True
    assert user.email == user["email"] == "e@example.com"
    assert user["custom:team"] == "blue"
    assert user.to_dict() == {
        "is_logged_in": True,
        "sub": "s",
        "email": "e@example.com",
        "custom:team": "blue",
    }
    assert len(user) == 4 and list(user) == ["is_logged_in", "sub", "email", "custom:team"]
    with pytest.raises(AttributeError):
        user.email = "mallory@example.com"  # type: ignore[misc]
    with pytest.raises(TypeError):
        user["email"] = "mallory@example.com"  # type: ignore[index]
    with pytest.raises(AttributeError):
        _ = user.no_such_claim
    with pytest.raises(KeyError):
        _ = user["no_such_claim"]
    with pytest.raises(TypeError):
        user.claims["email"] = "mallory@example.com"  # type: ignore[index]
    restored = pickle.loads(pickle.dumps(user))
    assert restored == user and restored.email == "e@example.com"
    assert AlbUser().is_logged_in is False and AlbUser().groups == ()
    assert "e@example.com" in repr(user)


def test_no_raw_token_is_kept_in_session_state(with_user_pool, signer, pool):
    access_token = pool.access_token("sub-ada", groups=["admin"])
    headers = signer.headers(ADA, access_token=access_token)
    at = run_page(headers)
    assert "groups=admin" in texts(at)
    kept = {key: at.session_state[key] for key in at.session_state if key != "test_headers"}
    blob = pickle.dumps(kept) + repr(kept).encode()
    for token in (headers["x-amzn-oidc-data"], access_token):
        for piece in (token, *token.split(".")):
            assert piece.encode() not in blob
    assert SESSION_STATE_KEY in kept and VERIFIED_FOR_KEY in kept
    assert len(kept[VERIFIED_FOR_KEY]) == 64  # a SHA-256 of what the user was verified for


def test_the_same_headers_and_settings_give_the_same_verified_for_digest(configured, signer):
    headers = signer.headers(ADA)
    first = run_page(headers)
    second = run_page(headers)
    assert first.session_state[VERIFIED_FOR_KEY] == second.session_state[VERIFIED_FOR_KEY]
    third = run_page(signer.headers(BOB))
    assert third.session_state[VERIFIED_FOR_KEY] != first.session_state[VERIFIED_FOR_KEY]


def test_required_as_a_positional_argument_is_deprecated_but_works(configured):
    import warnings

    from streamlit_alb_auth import get_alb_user

    script = AppTest.from_string(
        "import warnings\n"
        "import streamlit as st\n"
        "from streamlit_alb_auth import get_alb_user\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    user = get_alb_user(False, headers={})\n"
        "st.session_state['warned'] = [str(w.message) for w in caught if w.category is DeprecationWarning]\n"
        "st.markdown(f'logged_in={user.is_logged_in}')\n"
    )
    at = script.run(timeout=20)
    assert not at.exception and "logged_in=False" in texts(at)
    assert any("required=" in message for message in at.session_state["warned"])
    with warnings.catch_warnings(), pytest.raises(TypeError, match="keyword"):
        warnings.simplefilter("ignore")
        get_alb_user(False, True)


def test_a_repeated_alb_header_in_the_page_is_refused_like_at_the_door(configured, signer):
    good = signer.headers(ADA)
    repeated = {**good, "X-Amzn-Oidc-Data": signer.sign(BOB)}  # a second copy, in another case
    at = run_page(repeated, required=False)
    assert texts(at)[0] == "logged_in=False"
    assert "MalformedTokenError" in (at.session_state[SESSION_STATE_KEY].problem or "")


# get_alb_user's own arguments: a clean stop, settings passed as arguments (they win), groups.


SIGNER = LocalAlbSigner()


OTHER_ARN = "arn:aws:elasticloadbalancing:us-east-1:210987654321:loadbalancer/app/theirs/0123456789abcdef"


ADA_WITHOUT_USERNAME = {"sub": "sub-ada", "email": "ada@example.com"}


@pytest.fixture(scope="module")
def key_url() -> Iterator[str]:
    with ScriptedServer({f"/alb/{SIGNER.kid}": Reply.body(SIGNER.public_key_pem)}) as server:
        yield server.url("/alb")


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
    at.session_state["test_headers"] = SIGNER.headers(ADA_WITHOUT_USERNAME)
    at.secrets["alb_auth"] = {"alb_arn": [SIGNER.alb_arn], "key_url": key_url}
    at.run(timeout=20)
    assert not at.exception
    assert [element.value for element in at.markdown] == ["email=ada@example.com"]


def test_the_alb_arn_argument_is_used(key_url):
    user = get_alb_user(
        required=False, headers=SIGNER.headers(ADA_WITHOUT_USERNAME), alb_arn=SIGNER.alb_arn, key_url=key_url
    )
    assert user.is_logged_in and user.email == "ada@example.com"


def test_the_alb_arn_argument_wins_over_the_environment(key_url, monkeypatch):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", SIGNER.alb_arn)
    user = get_alb_user(
        required=False, headers=SIGNER.headers(ADA_WITHOUT_USERNAME), alb_arn=OTHER_ARN, key_url=key_url
    )
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
        headers=SIGNER.headers(ADA_WITHOUT_USERNAME),
        alb_arn=SIGNER.alb_arn,
        key_url=key_url,
        **{setting: value},
    )
    assert not user.is_logged_in and error in (user.problem or "")
    st.session_state.pop(SESSION_STATE_KEY, None)
    right = {"client_id": SIGNER.client_id, "issuer": SIGNER.issuer}[setting]
    user = get_alb_user(
        required=False,
        headers=SIGNER.headers(ADA_WITHOUT_USERNAME),
        alb_arn=SIGNER.alb_arn,
        key_url=key_url,
        **{setting: right},
    )
    assert user.is_logged_in


def test_the_key_url_argument_is_used(key_url):
    user = get_alb_user(
        required=False,
        headers=SIGNER.headers(ADA_WITHOUT_USERNAME),
        alb_arn=SIGNER.alb_arn,
        key_url=key_url + "/nowhere",
    )
    assert not user.is_logged_in and "FetchResponseError" in (user.problem or "")


def test_headers_are_read_case_insensitively(key_url):
    headers = {name.upper(): value for name, value in SIGNER.headers(ADA_WITHOUT_USERNAME).items()}
    user = get_alb_user(required=False, headers=headers, alb_arn=SIGNER.alb_arn, key_url=key_url)
    assert user.is_logged_in


def test_a_missing_identity_header_is_a_mismatch(key_url):
    headers = SIGNER.headers(ADA_WITHOUT_USERNAME)
    del headers["x-amzn-oidc-identity"]
    user = get_alb_user(required=False, headers=headers, alb_arn=SIGNER.alb_arn, key_url=key_url)
    assert not user.is_logged_in and "IdentityMismatchError" in (user.problem or "")


# Security findings above the fetcher (issue 10): each reproduced, each fixed.
#
# Items 1, 3 and 4 (kid flood, URL parsing, fetch deadline) are in tests/unit/test_keys.py and
# tests/unit/test_fetch.py.


POOL = LocalCognitoPool()


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    routes = {
        f"/alb/{SIGNER.kid}": Reply.body(SIGNER.public_key_pem),
        "/jwks.json": Reply.body(json.dumps(POOL.jwks).encode()),
    }
    with ScriptedServer(routes) as running:
        yield running


@pytest.fixture(autouse=True)
def no_settings_and_no_stored_user(monkeypatch) -> None:
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


def test_a_32_mib_jwks_is_not_read_whole(server, caplog):
    server.routes["/huge-jwks.json"] = Reply(chunks=[b" " * 65536], repeat=512, length=False)
    settings = {**pool_settings(server), "jwks_url": server.url("/huge-jwks.json")}
    access = POOL.access_token("sub-ada", groups=["admin"])
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = get_alb_user(required=False, headers=SIGNER.headers(ADA, access_token=access), **settings)
    assert user.is_logged_in and user.groups == ()
    assert "FetchTooLargeError" in caplog.text


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


def page_without_headers() -> None:
    from streamlit_alb_auth import get_alb_user

    get_alb_user(headers={})


def test_a_misconfigured_url_is_not_shown_to_visitors(monkeypatch, caplog):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", SIGNER.alb_arn)
    monkeypatch.setenv("ALB_AUTH_KEY_URL", "https://admin:hunter2@keys.example.com/keys")
    with caplog.at_level(logging.ERROR, logger="streamlit_alb_auth"):
        at = AppTest.from_function(page_without_headers).run(timeout=20)
    shown = at.error[0].value
    assert "key_url" in shown and "server log" in shown
    assert "hunter2" not in shown and "keys.example.com" not in shown
    assert "key_url" in caplog.text and "user name or password" in caplog.text
    assert "hunter2" not in caplog.text


def test_the_developer_can_ask_for_details_on_the_page(monkeypatch):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", SIGNER.alb_arn)
    monkeypatch.setenv("ALB_AUTH_KEY_URL", "http://keys.example.com/keys")
    monkeypatch.setenv("ALB_AUTH_SHOW_DETAILS", "1")
    at = AppTest.from_function(page_without_headers).run(timeout=20)
    assert "only on loopback" in at.error[0].value


def test_a_malformed_arn_is_reported_before_any_header_arrives(monkeypatch):
    monkeypatch.setenv("ALB_AUTH_ALB_ARN", "arn:aws:elasticloadbalancing:eu-west-1:123:loadbalancer/app/x/1")
    at = AppTest.from_function(page_without_headers).run(timeout=20)
    assert "alb_arn" in at.error[0].value
    assert "x-amzn-oidc-data" not in at.error[0].value


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


def test_a_machine_the_door_verified_is_the_page_user_only_when_st_user_says_machine(monkeypatch, signer):
    """A session without ALB headers (the agent API) gets the machine the door verified, found by the
    ``st.user`` the door wrote; a person's ``st.user`` never reaches for it."""
    from streamlit_alb_auth.bearer import BearerVerifier
    from streamlit_alb_auth.localidp import LocalOidcProvider
    from streamlit_alb_auth.testing import LocalKeyServer

    with LocalKeyServer(signer) as keys:
        provider = LocalOidcProvider(issuer=keys.base_url + "/machines", client_id="agent-client")
        keys.add_provider(provider)
        token = provider.access_token("agent-client", claims={"scope": "streamlit/agent"})
        machine = BearerVerifier(provider.issuer, audience="agent-client").verify(token)
    said = {"sub": "agent-client", "client_id": "agent-client", "groups": "streamlit/agent"}
    try:
        monkeypatch.setattr(st, "user", {**said, "is_machine": True})
        assert get_alb_user(required=False, headers={}) is machine
        monkeypatch.setattr(st, "user", said)  # the same names without the door's machine mark
        assert not get_alb_user(required=False, headers={}).is_logged_in
    finally:
        reset_state()
