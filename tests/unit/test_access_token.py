"""The access-token check that decides ``groups``: through ``get_alb_user``, and ``IdpVerifier`` itself.

Each case: the ALB's data token verifies, so the user is signed in; only whether ``groups`` are trusted
changes. A failure must withhold the groups and keep the identity: never crash the page.
The ALB key and every JWKS come from a real loopback server; each test uses its own JWKS path, so no
verifier or JWKS cache carries over between tests.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import streamlit as st
from helpers.oidc_provider import ADA, AUDIENCE, KEYS, SIGNER, Realm
from helpers.pinning import Reply, ScriptedServer

from streamlit_alb_auth import SESSION_STATE_KEY, AlbUser, errors, get_alb_user
from streamlit_alb_auth.access_token import IdpVerifier
from streamlit_alb_auth.cognito import user_pool_issuer
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.testing import LocalCognitoPool

POOL = LocalCognitoPool()
_paths = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer({f"/alb/{SIGNER.kid}": Reply.body(SIGNER.public_key_pem)}) as running:
        yield running


@pytest.fixture(autouse=True)
def no_stored_user() -> None:
    st.session_state.pop(SESSION_STATE_KEY, None)


@pytest.fixture
def jwks_path(server: ScriptedServer) -> str:
    path = f"/jwks-{next(_paths)}.json"
    server.routes[path] = Reply.body(json.dumps(POOL.jwks).encode())
    return path


def user_with(server: ScriptedServer, jwks_path: str, access_token: str, **settings: Any) -> AlbUser:
    st.session_state.pop(SESSION_STATE_KEY, None)
    options: dict[str, Any] = {
        "alb_arn": SIGNER.alb_arn,
        "key_url": server.url("/alb"),
        "user_pool_id": POOL.user_pool_id,
        "client_id": POOL.client_id,
        "jwks_url": server.url(jwks_path),
        **settings,
    }
    user = get_alb_user(required=False, headers=SIGNER.headers(ADA, access_token=access_token), **options)
    assert user.is_logged_in and user.sub == "sub-ada", user.problem
    return user


def mint(payload_changes: dict[str, Any], *, drop: tuple[str, ...] = (), headers: dict | None = None) -> str:
    """A pool-signed access token with claims changed or dropped."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": "sub-ada",
        "iss": POOL.issuer,
        "client_id": POOL.client_id,
        "token_use": "access",
        "iat": now,
        "exp": now + 3600,
        "cognito:groups": ["admin"],
        **payload_changes,
    }
    for name in drop:
        payload.pop(name)
    return jwt.encode(
        payload, POOL.private_key, algorithm="RS256", headers={"kid": POOL.kid, **(headers or {})}
    )


def test_a_valid_access_token_gives_groups(server, jwks_path):
    user = user_with(server, jwks_path, mint({}))
    assert user.groups == ("admin",)
    assert user.access_token_claims["token_use"] == "access"


@pytest.mark.parametrize(
    ("case", "token"),
    [
        (
            "another issuer",
            lambda: mint({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}),
        ),
        ("no issuer", lambda: mint({}, drop=("iss",))),
        ("no exp", lambda: mint({}, drop=("exp",))),
        ("no sub", lambda: mint({}, drop=("sub",))),
        ("expired past the leeway", lambda: mint({"exp": int(time.time()) - 45})),
        ("another user", lambda: mint({"sub": "sub-bob"})),
        ("another client", lambda: mint({"client_id": "someone-else"})),
        ("an id token", lambda: mint({"token_use": "id"})),
        ("no token_use", lambda: mint({}, drop=("token_use",))),
        ("another key", lambda: LocalCognitoPool(kid=POOL.kid).access_token("sub-ada", groups=["admin"])),
        (
            "alg none",
            lambda: jwt.encode(
                {
                    "sub": "sub-ada",
                    "iss": POOL.issuer,
                    "exp": int(time.time()) + 60,
                    "token_use": "access",
                    "client_id": POOL.client_id,
                    "cognito:groups": ["admin"],
                },
                None,
                algorithm="none",
                headers={"kid": POOL.kid},
            ),
        ),
    ],
)
def test_an_untrusted_access_token_gives_no_groups(server, jwks_path, caplog, case, token):
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = user_with(server, jwks_path, token())
    assert user.groups == () and dict(user.access_token_claims) == {}, case
    assert "AccessTokenError" in caplog.text


def test_expiry_within_the_leeway_is_accepted(server, jwks_path):
    assert user_with(server, jwks_path, mint({"exp": int(time.time()) - 15})).groups == ("admin",)


def test_a_token_over_16_kib_is_refused_before_any_jwks_fetch(server, jwks_path):
    token = mint({"pad": "x" * 16 * 1024})
    assert user_with(server, jwks_path, token).groups == ()
    assert server.count(jwks_path) == 0


def test_a_token_of_exactly_16_kib_is_checked(server, jwks_path):
    token = exact_length_token(16 * 1024)
    assert user_with(server, jwks_path, token).groups == ("admin",)


def exact_length_token(length: int) -> str:
    base = len(mint({"pad": ""}, headers={"x": ""}))
    for header_extra in range(4):
        for pad in range(max(0, (length - base) * 3 // 4 - 8), length):
            token = mint({"pad": "x" * pad}, headers={"x": "y" * header_extra})
            if len(token) == length:
                return token
            if len(token) > length:
                break
    raise AssertionError(f"no token of exactly {length} characters")


@pytest.mark.parametrize(
    "reply",
    [
        Reply.body(b"this is not json"),
        Reply.body(b"[1, 2]"),
        Reply.body(b'{"keys": "none"}'),
        Reply.body(b'{"keys": [{"kty": "RSA", "kid": "x", "n": "!!", "e": "AQAB"}]}'),
        Reply.body(b"", status=500),
        Reply.body(b"", status=404),
    ],
    ids=["not-json", "a-list", "keys-not-a-list", "broken-key", "http-500", "http-404"],
)
def test_a_jwks_that_cannot_be_used_withholds_groups_without_crashing(server, jwks_path, reply, caplog):
    server.routes[jwks_path] = reply
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = user_with(server, jwks_path, mint({}))
    assert user.groups == ()
    assert "AccessTokenError" in caplog.text


def test_a_redirecting_jwks_is_not_followed(server, jwks_path):
    target = f"{jwks_path}.real"
    server.routes[target] = Reply.body(json.dumps(POOL.jwks).encode())
    server.routes[jwks_path] = Reply.body(b"", status=302, headers={"Location": server.url(target)})
    assert user_with(server, jwks_path, mint({})).groups == ()
    assert server.count(target) == 0


def test_a_stalled_jwks_times_out_and_a_slow_one_does_not(server, jwks_path):
    # The JWKS fetch is bounded at 5 s: a 5.8 s stall withholds groups, a 4.2 s answer still counts.
    server.routes[jwks_path] = Reply.body(json.dumps(POOL.jwks).encode(), delay=5.8)
    assert user_with(server, jwks_path, mint({})).groups == ()
    slow = f"{jwks_path}.slow"
    server.routes[slow] = Reply.body(json.dumps(POOL.jwks).encode(), delay=4.2)
    assert user_with(server, slow, mint({})).groups == ("admin",)


def test_without_a_user_pool_the_access_token_is_ignored(server, jwks_path):
    user = user_with(server, jwks_path, mint({}), user_pool_id=None)
    assert user.groups == ()
    assert server.count(jwks_path) == 0


def test_the_issuer_follows_the_pools_region(server, jwks_path):
    pool = LocalCognitoPool(user_pool_id="eu-west-1_Other")
    server.routes[jwks_path] = Reply.body(json.dumps(pool.jwks).encode())
    token = pool.access_token("sub-ada", groups=["ops"])
    assert pool.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"
    user = user_with(server, jwks_path, token, user_pool_id=pool.user_pool_id)
    assert user.groups == ("ops",)


@pytest.mark.parametrize("pool_id", ["eu-west-1", "eu-west-1_", "_Pool", "eu-west-1_Po ol", "EU-west-1_Pool"])
def test_a_malformed_user_pool_id_trusts_nobody(server, jwks_path, pool_id):
    st.session_state.pop(SESSION_STATE_KEY, None)
    user = get_alb_user(
        required=False,
        headers=SIGNER.headers(ADA, access_token=mint({})),
        alb_arn=SIGNER.alb_arn,
        key_url=server.url("/alb"),
        user_pool_id=pool_id,
        jwks_url=server.url(jwks_path),
    )
    assert not user.is_logged_in
    assert "user pool" in (user.problem or "")


# Groups from a generic OIDC provider, through ``get_alb_user``.
#
# A real loopback server plays the provider: discovery, JWKS and userinfo, one issuer path per test so no
# cache carries over. The ALB's data token always verifies; only what ``groups`` holds changes.


@pytest.fixture
def realm(server: ScriptedServer) -> Realm:
    return Realm(server)


def test_a_valid_token_from_the_issuer_gives_its_groups(realm):
    assert realm.user(realm.token()).groups == ("admin", "staff")
    assert realm.count("/.well-known/openid-configuration") == 1 and realm.count("/jwks") == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": [AUDIENCE, "other"]},
        {"aud": "other", "client_id": AUDIENCE},
        {"aud": "x", "azp": AUDIENCE},
        {"aud": "x", "cid": AUDIENCE},
    ],
    ids=["aud-list", "client_id", "azp", "cid"],
)
def test_each_way_of_naming_this_app_is_accepted(realm, changes):
    assert realm.user(realm.token(changes)).groups == ("admin", "staff")


@pytest.mark.parametrize(
    ("case", "changes", "drop"),
    [
        ("another audience", {"aud": "someone-else"}, ()),
        ("an audience list without us", {"aud": ["a", "b"]}, ()),
        ("another issuer", {"iss": "https://idp.example.com/other"}, ()),
        ("another user", {"sub": "sub-bob"}, ()),
        ("expired", {"exp": int(time.time()) - 120}, ()),
        ("no exp", {}, ("exp",)),
        ("no sub", {}, ("sub",)),
    ],
)
def test_an_untrusted_token_gives_no_groups(realm, caplog, case, changes, drop):
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = realm.user(realm.token(changes, drop=drop))
    assert user.groups == (), case
    assert "AccessTokenError" in caplog.text


def test_the_audience_defaults_to_the_client_id(realm):
    token = realm.token({"aud": SIGNER.client_id})
    assert realm.user(token, audience=None, client_id=SIGNER.client_id).groups == ("admin", "staff")


def test_a_symmetric_or_mismatched_algorithm_is_refused(realm):
    hs = jwt.encode(
        {
            "sub": "sub-ada",
            "iss": realm.issuer,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 60,
            "groups": ["admin"],
        },
        "shared-secret-of-32-bytes-or-more!",
        algorithm="HS256",
        headers={"kid": KEYS.kid},
    )
    assert realm.user(hs).groups == ()
    ps = jwt.encode(
        {
            "sub": "sub-ada",
            "iss": realm.issuer,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 60,
            "groups": ["admin"],
        },
        KEYS.private_key,
        algorithm="PS256",
        headers={"kid": KEYS.kid},
    )
    assert realm.user(ps).groups == ()  # the JWKS says RS256 for this key


@pytest.mark.parametrize("bad", ["tok\u00e9n", "tok en", "a.b.c\n"])
def test_a_token_with_impossible_characters_is_refused_unfetched(realm, bad):
    assert realm.user(bad).groups == ()
    assert realm.count("/userinfo") == 0 and realm.count("/jwks") == 0


def test_userinfo_on_takes_groups_from_the_answer(realm):
    user = realm.user(realm.token(), userinfo=True)
    assert user.groups == ("from-userinfo",)
    assert realm.server.request_headers[-1]["authorization"].startswith("Bearer ")


def test_an_opaque_token_is_checked_with_userinfo(realm):
    assert realm.user("opaque-token-abc", userinfo=False).groups == ("from-userinfo",)
    assert realm.count("/jwks") == 0


@pytest.mark.parametrize(
    "answer",
    [{"sub": "sub-bob", "groups": ["x"]}, ["sub-ada"], {"groups": ["x"]}],
    ids=["other", "list", "no-sub"],
)
def test_userinfo_for_someone_else_gives_no_groups(realm, answer):
    realm.serve_userinfo(answer)
    assert realm.user("opaque-token-abc").groups == ()


def test_userinfo_is_asked_once_per_token(realm):
    for _ in range(3):
        assert realm.user("opaque-token-once").groups == ("from-userinfo",)
    assert realm.count("/userinfo") == 1
    assert realm.user("opaque-token-twice").groups == ("from-userinfo",)
    assert realm.count("/userinfo") == 2


def test_an_explicit_userinfo_url_is_used(realm):
    realm.route("/elsewhere", Reply.body(json.dumps({"sub": "sub-ada", "groups": "solo"}).encode()))
    assert realm.user("opaque", userinfo_url=f"{realm.issuer}/elsewhere").groups == ("solo",)
    assert realm.count("/userinfo") == 0


@pytest.mark.parametrize(
    ("claim", "changes", "expected"),
    [
        ("groups", {"groups": "solo"}, ("solo",)),
        ("groups", {"groups": ["a", 1, None, "b"]}, ("a", "b")),
        ("groups", {"groups": {"a": 1}}, ()),
        ("realm_access.roles", {"realm_access": {"roles": ["r1", "r2"]}}, ("r1", "r2")),
        ("realm_access.roles", {"realm_access": ["r1"]}, ()),
        ("https://example.com/roles", {"https://example.com/roles": ["dotted"]}, ("dotted",)),
        ("roles", {}, ()),
    ],
)
def test_groups_are_read_from_the_configured_claim(realm, claim, changes, expected):
    assert realm.user(realm.token(changes), groups_claim=claim).groups == expected


def test_a_groups_provider_decides_the_groups(realm):
    seen: list[str] = []

    def provider(user):
        seen.append(user.sub)
        return ["from-provider"]

    assert realm.user(realm.token(), groups_provider=provider).groups == ("from-provider",)
    assert seen == ["sub-ada"]


@pytest.mark.parametrize("result", [RuntimeError("db down"), [1, 2]], ids=["raises", "not-strings"])
def test_a_failing_groups_provider_withholds_groups(realm, caplog, result):
    def provider(user):
        if isinstance(result, Exception):
            raise result
        return result

    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        assert realm.user(realm.token(), groups_provider=provider).groups == ()
    assert "groups_provider" in caplog.text


def test_an_opaque_token_with_dots_is_checked_with_userinfo(realm):
    assert realm.user("opaque.with.dots").groups == ("from-userinfo",)
    assert realm.count("/jwks") == 0


def test_an_encrypted_token_goes_to_userinfo(realm):
    header = base64.urlsafe_b64encode(b'{"alg":"RSA-OAEP","enc":"A256GCM","kid":"oidc-key"}').rstrip(b"=")
    jwe = f"{header.decode()}.a2V5.aXY.Y2lwaGVy.dGFn"  # five segments: a JWE, not a JWS
    assert realm.user(jwe).groups == ("from-userinfo",)


def test_userinfo_without_an_endpoint_is_a_userinfo_error(realm, caplog):
    realm.serve_discovery({"userinfo_endpoint": None})
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        assert realm.user("opaque-token").groups == ()
    assert "UserinfoError" in caplog.text


def test_a_userinfo_answer_is_capped_at_64_kib(realm):
    def answer_of(size: int) -> bytes:
        start = b'{"sub":"sub-ada","groups":["big"],"pad":"'
        return start + b"x" * (size - len(start) - 2) + b'"}'

    realm.route("/userinfo", Reply.body(answer_of(64 * 1024)))
    assert realm.user("opaque-at-cap").groups == ("big",)
    realm.route("/userinfo", Reply.body(answer_of(64 * 1024 + 1)))
    assert realm.user("opaque-over-cap").groups == ()


def test_the_cognito_preset_takes_options_by_keyword():
    with pytest.raises(TypeError):
        IdpVerifier.cognito_pool("us-east-1_Pool", "client")  # type: ignore[misc]


@pytest.mark.parametrize(
    "pool_id",
    [
        "us-ea/st-1_Abc",
        "us-east-_Abc",
        "usa-east-1_Abc",
        "us-east-1_",
        "us-east-1_A-b",
        "us-east-1",
        "u-east-1_A",
    ],
)
def test_a_user_pool_id_is_region_underscore_id(pool_id):
    with pytest.raises(errors.ConfigurationError):
        user_pool_issuer(pool_id)
    with pytest.raises(errors.ConfigurationError):
        resolve_settings({"user_pool_id": pool_id}, environ={}, secrets={})


def test_a_user_pool_id_gives_its_regions_issuer():
    assert (
        user_pool_issuer("ap-southeast-2_AbC9")
        == "https://cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_AbC9"
    )


def test_a_token_one_character_over_16_kib_is_refused_before_any_jwks_fetch(server, jwks_path):
    token = exact_length_token(16 * 1024 + 1)
    assert user_with(server, jwks_path, token).groups == ()
    assert server.count(jwks_path) == 0


def test_userinfo_is_asked_only_when_switched_on(realm):
    token = realm.token()
    quiet = IdpVerifier(realm.issuer, audience=AUDIENCE)
    assert quiet.check(token, expected_sub="sub-ada").access_token_claims["groups"] == ["admin", "staff"]
    assert realm.count("/userinfo") == 0
    asking = IdpVerifier(realm.issuer, audience=AUDIENCE, userinfo=True)
    assert asking.check(token, expected_sub="sub-ada").userinfo["groups"] == ["from-userinfo"]
    assert realm.count("/userinfo") == 1
