"""Groups from any OIDC provider: oidc_issuer, audience, groups_claim, userinfo and groups_provider.

A local provider (discovery, JWKS, userinfo) runs on a real loopback HTTP server; the ALB's own token
is minted by a local signer. Each failure must keep the verified identity, give no groups, and log why.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import pickle
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers.pinning import Reply, ScriptedServer
from helpers.rawhttp import RawServer

from streamlit_alb_auth import errors
from streamlit_alb_auth.authenticate import (
    Authenticator,
    authenticate_headers,
    authenticator_for,
    header_values,
)
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.fetch import Fetcher
from streamlit_alb_auth.fingerprint import provider_identity
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.testing import LocalAlbSigner, reset_state
from streamlit_alb_auth.user import AlbUser

SIGNER = LocalAlbSigner(client_id="my-app")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "idp-key-1"
ADA = {"sub": "sub-ada", "email": "ada@example.com", "preferred_username": "ada"}
REALM = "/realms/main"


def jwks(key: rsa.RSAPrivateKey = KEY, kid: str = KID) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": kid, "alg": "RS256", "use": "sig"}]}


def json_reply(value: object) -> Reply:
    return Reply.body(json.dumps(value).encode())


@pytest.fixture
def idp() -> Iterator[ScriptedServer]:
    with ScriptedServer({f"/alb/{SIGNER.kid}": Reply.body(SIGNER.public_key_pem)}) as server:
        issuer = server.url(REALM)
        discovery = {
            "issuer": issuer,
            "jwks_uri": server.url(REALM + "/certs"),
            "userinfo_endpoint": server.url(REALM + "/userinfo"),
        }
        server.routes[REALM + "/.well-known/openid-configuration"] = Reply.body(
            json.dumps(discovery).encode()
        )
        server.routes[REALM + "/certs"] = Reply.body(json.dumps(jwks()).encode())
        server.routes[REALM + "/userinfo"] = Reply.body(
            json.dumps({"sub": "sub-ada", "groups": ["ops"]}).encode()
        )
        yield server


def access_token(server: ScriptedServer, changes: dict[str, Any] | None = None, **header: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": server.url(REALM),
        "sub": "sub-ada",
        "aud": "account",
        "azp": "my-app",
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": ["admin", "offline_access"]},
        **(changes or {}),
    }
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KID, **header})


def authenticate(server: ScriptedServer, token: str, **settings: Any) -> AlbUser:
    options = {
        "alb_arn": SIGNER.alb_arn,
        "client_id": "my-app",
        "key_url": server.url("/alb"),
        "oidc_issuer": server.url(REALM),
        "groups_claim": "realm_access.roles",
        **settings,
    }
    provider = options.pop("groups_provider", None)
    authenticator = Authenticator(resolve_settings(options, environ={}, secrets={}), key_store=AlbKeyStore())
    headers = SIGNER.headers(ADA, access_token=token).values()
    user = authenticator.authenticate(*headers, groups_provider=provider)
    assert user.is_logged_in and user.sub == "sub-ada"
    return user


def test_keycloak_roles_from_a_verified_access_token(idp):
    user = authenticate(idp, access_token(idp))
    assert user.groups == ("admin", "offline_access")
    assert user.access_token_claims["azp"] == "my-app"
    assert idp.count(REALM + "/.well-known/openid-configuration") == 1
    assert idp.count(REALM + "/userinfo") == 0


def test_a_string_groups_claim_is_one_group(idp):
    user = authenticate(idp, access_token(idp, {"groups": "staff"}), groups_claim="groups")
    assert user.groups == ("staff",)


def test_a_claim_name_with_dots_is_read_whole(idp):
    token = access_token(idp, {"https://example.com/roles": ["editor"]})
    assert authenticate(idp, token, groups_claim="https://example.com/roles").groups == ("editor",)


def test_the_audience_setting_is_checked_against_aud(idp):
    token = access_token(idp, {"aud": ["api://reports"], "azp": "someone"})
    assert authenticate(idp, token, audience="api://reports").groups == ("admin", "offline_access")


@pytest.mark.parametrize(
    ("case", "changes", "reason"),
    [
        ("wrong audience", {"aud": "other-api", "azp": "other-app"}, "another client"),
        ("wrong issuer", {"iss": "https://idp.example.com/realms/main"}, "InvalidIssuerError"),
        ("sub mismatch", {"sub": "sub-bob"}, "another user"),
        ("expired", {"exp": int(time.time()) - 3600}, "ExpiredSignatureError"),
    ],
)
def test_an_untrusted_access_token_gives_no_groups(idp, caplog, case, changes, reason):
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, access_token(idp, changes))
    assert user.groups == () and dict(user.access_token_claims) == {}, case
    assert "AccessTokenError" in caplog.text and reason in caplog.text


def test_a_token_signed_by_another_key_gives_no_groups(idp, caplog):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        {"iss": idp.url(REALM), "sub": "sub-ada", "azp": "my-app", "exp": int(time.time()) + 60},
        other,
        algorithm="RS256",
        headers={"kid": KID},
    )
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        assert authenticate(idp, token).groups == ()
    assert "InvalidSignatureError" in caplog.text


def test_a_shared_secret_token_is_refused_even_if_the_jwks_offers_a_secret(idp):
    shared = b"s" * 32
    secret = {"kty": "oct", "kid": "hmac", "k": jwt.utils.base64url_encode(shared).decode(), "alg": "HS256"}
    idp.routes[REALM + "/certs"] = Reply.body(json.dumps({"keys": [secret]}).encode())
    token = jwt.encode(
        {
            "iss": idp.url(REALM),
            "sub": "sub-ada",
            "azp": "my-app",
            "exp": int(time.time()) + 60,
            "groups": ["x"],
        },
        shared,
        algorithm="HS256",
        headers={"kid": "hmac"},
    )
    assert authenticate(idp, token, groups_claim="groups").groups == ()


def test_a_discovery_document_for_another_issuer_gives_no_groups(idp, caplog):
    document = {"issuer": "https://evil.example.com", "jwks_uri": idp.url(REALM + "/certs")}
    idp.routes[REALM + "/.well-known/openid-configuration"] = Reply.body(json.dumps(document).encode())
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        assert authenticate(idp, access_token(idp)).groups == ()
    assert "another issuer" in caplog.text
    assert idp.count(REALM + "/certs") == 0


@pytest.mark.parametrize("where", ["/certs", "/.well-known/openid-configuration"])
def test_oversized_metadata_gives_no_groups(idp, caplog, where):
    idp.routes[REALM + where] = Reply(chunks=[b" " * 65536], repeat=512, length=False)
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        assert authenticate(idp, access_token(idp)).groups == ()
    assert "FetchTooLargeError" in caplog.text


def test_a_redirecting_jwks_is_not_followed(idp, caplog):
    idp.routes[REALM + "/moved"] = Reply.body(json.dumps(jwks()).encode())
    idp.routes[REALM + "/certs"] = Reply.body(
        b"", status=302, headers={"Location": idp.url(REALM + "/moved")}
    )
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        assert authenticate(idp, access_token(idp)).groups == ()
    assert "FetchResponseError" in caplog.text and "302" in caplog.text
    assert idp.count(REALM + "/moved") == 0


def test_a_flood_of_unknown_kids_refetches_the_jwks_at_most_once_per_cooldown(idp):
    options = {
        "alb_arn": SIGNER.alb_arn,
        "client_id": "my-app",
        "key_url": idp.url("/alb"),
        "oidc_issuer": idp.url(REALM),
    }
    authenticator = Authenticator(resolve_settings(options, environ={}, secrets={}), key_store=AlbKeyStore())
    for _ in range(30):
        token = access_token(idp, kid=str(uuid.uuid4()))
        authenticator.authenticate(*SIGNER.headers(ADA, access_token=token).values())
    assert idp.count(REALM + "/certs") == 1  # the first fetch; the cooldown (30 s) covers the rest


# --- userinfo ---------------------------------------------------------------------------------------


def test_userinfo_gives_groups_once_per_token(idp):
    token = access_token(idp)
    options = {
        "alb_arn": SIGNER.alb_arn,
        "client_id": "my-app",
        "key_url": idp.url("/alb"),
        "oidc_issuer": idp.url(REALM),
        "userinfo": True,
        "groups_claim": "groups",
    }
    authenticator = Authenticator(resolve_settings(options, environ={}, secrets={}), key_store=AlbKeyStore())
    for _ in range(3):
        user = authenticator.authenticate(*SIGNER.headers(ADA, access_token=token).values())
        assert user.groups == ("ops",) and user.userinfo["sub"] == "sub-ada"
    assert idp.count(REALM + "/userinfo") == 1
    sent = idp.request_headers[idp.requests.index(REALM + "/userinfo")]
    assert sent["authorization"] == f"Bearer {token}"


def test_an_opaque_access_token_is_checked_by_userinfo(idp):
    """Entra ID's Graph tokens carry a nonce that makes them unverifiable by the app: userinfo decides."""
    graph_like = access_token(idp, nonce="abc")
    assert authenticate(idp, graph_like, groups_claim="groups").groups == ("ops",)
    assert authenticate(idp, "opaque-token-from-the-idp", groups_claim="groups").groups == ("ops",)


def test_userinfo_url_overrides_discovery(idp):
    idp.routes["/elsewhere/userinfo"] = Reply.body(json.dumps({"sub": "sub-ada", "groups": "qa"}).encode())
    user = authenticate(
        idp,
        access_token(idp),
        userinfo=True,
        userinfo_url=idp.url("/elsewhere/userinfo"),
        groups_claim="groups",
    )
    assert user.groups == ("qa",)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply.body(json.dumps({"sub": "sub-bob", "groups": ["admin"]}).encode()), "another user"),
        (Reply(chunks=[b" " * 65536], repeat=64, length=False), "FetchTooLargeError"),
        (Reply.body(b"", status=302, headers={"Location": "http://127.0.0.1:9/"}), "FetchResponseError"),
        (Reply.body(b"", status=401), "401"),
        (Reply.body(b"[1, 2]"), "JSON object"),
    ],
    ids=["sub-mismatch", "oversized", "redirect", "unauthorized", "not-an-object"],
)
def test_untrusted_userinfo_gives_no_groups(idp, caplog, reply, reason):
    idp.routes[REALM + "/userinfo"] = reply
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, access_token(idp), userinfo=True, groups_claim="groups")
    assert user.groups == () and dict(user.userinfo) == {}
    assert "UserinfoError" in caplog.text and reason in caplog.text


# --- groups_provider -------------------------------------------------------------------------------


def test_groups_provider_decides_the_groups(idp):
    seen: list[AlbUser] = []

    def from_database(user: AlbUser) -> list[str]:
        seen.append(user)
        return ["db-admins", "db-readers"]

    user = authenticate(idp, access_token(idp), groups_provider=from_database)
    assert user.groups == ("db-admins", "db-readers")
    assert seen[0].sub == "sub-ada" and seen[0].groups == ("admin", "offline_access")


def test_groups_provider_works_without_an_identity_provider(idp):
    user = authenticate(idp, "", oidc_issuer=None, groups_provider=lambda user: "solo")
    assert user.groups == ("solo",)


@pytest.mark.parametrize(
    "provider",
    [
        lambda user: 1 / 0,
        lambda user: ["ok", 5],
        lambda user: (_ for _ in ()).throw(RuntimeError("a\nFORGED")),
    ],
    ids=["raises", "not-strings", "newline-in-message"],
)
def test_a_failing_groups_provider_withholds_groups(idp, caplog, provider):
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, access_token(idp), groups_provider=provider)
    assert user.groups == ()
    assert "groups_provider failed" in caplog.text
    assert all("\n" not in record.getMessage() for record in caplog.records)


# --- configuration ---------------------------------------------------------------------------------


def test_the_new_settings_come_from_the_environment_and_secrets():
    environ = {"ALB_AUTH_OIDC_ISSUER": "https://idp.example.com", "ALB_AUTH_USERINFO": "yes"}
    secrets = {
        "groups_claim": "roles",
        "audience": "api",
        "userinfo": False,
        "userinfo_url": "https://u.example",
    }
    settings = resolve_settings({}, environ=environ, secrets=secrets)
    assert (settings.oidc_issuer, settings.userinfo, settings.groups_claim) == (
        "https://idp.example.com",
        True,
        "roles",
    )
    assert (settings.audience, settings.userinfo_url) == ("api", "https://u.example")
    assert resolve_settings({}, environ={}, secrets={}).groups_claim == "cognito:groups"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"user_pool_id": "us-east-1_Pool", "oidc_issuer": "https://idp.example.com"}, "oidc_issuer"),
        ({"userinfo": True}, "userinfo"),
        ({"oidc_issuer": "https://idp.example.com", "client_id": None}, "client_id"),
    ],
)
def test_settings_that_cannot_work_together_are_refused(settings, named):
    options = {"alb_arn": SIGNER.alb_arn, "client_id": "my-app", **settings}
    with pytest.raises(errors.ConfigurationError) as raised:
        Authenticator(resolve_settings(options, environ={}, secrets={}), key_store=AlbKeyStore())
    assert raised.value.setting == named


# --- injected fetchers ---------------------------------------------------------------------------------


def test_the_access_token_verifier_fetches_through_the_fetchers_it_is_given(idp):
    from streamlit_alb_auth.access_token import IdpVerifier
    from streamlit_alb_auth.fetch import Fetcher

    metadata_fetcher = Fetcher(timeout=5, max_bytes=256 * 1024, what="injected metadata")
    userinfo_fetcher = Fetcher(timeout=5, what="injected userinfo")
    verifier = IdpVerifier(
        idp.url(REALM), audience="my-app", fetcher=metadata_fetcher, userinfo_fetcher=userinfo_fetcher
    )
    facts = verifier.check(access_token(idp), expected_sub="sub-ada")
    assert facts.access_token_claims["realm_access"]["roles"] == ["admin", "offline_access"]
    assert metadata_fetcher.fetch_count == 2  # discovery, then the JWKS
    asking = IdpVerifier(idp.url(REALM), audience="my-app", userinfo=True, userinfo_fetcher=userinfo_fetcher)
    assert asking.check("opaque-token", expected_sub="sub-ada").userinfo["groups"] == ["ops"]
    assert userinfo_fetcher.fetch_count == 1


def test_metadata_fetched_through_an_injected_fetcher_names_it_when_it_fails(idp):
    from streamlit_alb_auth.fetch import Fetcher
    from streamlit_alb_auth.oidc_metadata import OidcMetadata

    fetcher = Fetcher(timeout=5, what="injected metadata")
    metadata = OidcMetadata(idp.url(REALM), jwks_url=idp.url(REALM + "/missing"), fetcher=fetcher)
    with pytest.raises(errors.AccessTokenError) as raised:
        metadata.signing_key(KID)
    assert isinstance(raised.value.__cause__, errors.FetchResponseError)
    assert raised.value.__cause__.what == "injected metadata"
    assert fetcher.fetch_count == 1


# Attacks from the security review of the verification core, each kept as a regression test.
#
# Everything runs against real loopback servers (the local provider above); each hostile
# input must end in a typed error or in withheld groups with the reason logged, never an unhandled
# exception or a hang.


@pytest.fixture(autouse=True)
def fresh_shared_key_store():
    """``authenticator_for`` uses the process-wide key store: give each test its full fetch budget."""
    reset_state()


def test_an_endless_groups_provider_withholds_groups(idp, caplog):
    def endless(user):
        return (f"group-{n}" for n in itertools.count())

    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, access_token(idp), groups_provider=endless)
    assert user.groups == ()
    assert "groups_provider failed" in caplog.text


def test_one_odd_jwks_entry_does_not_spoil_the_others(idp):
    good = jwks()["keys"][0]
    odd = {"kty": "EC", "crv": ["P-256"], "kid": "odd", "x": "AA", "y": "AA"}
    idp.routes[REALM + "/certs"] = Reply.body(json.dumps({"keys": [odd, good]}).encode())
    assert authenticate(idp, access_token(idp)).groups == ("admin", "offline_access")


def groups_from_table(table: str, user) -> list[str]:
    return [table]


def groups_of(table: str):
    def provider(user) -> list[str]:
        return [table]

    return provider


def page_provider(table: str):
    """``def groups(user)`` in a page script: every page runs as ``__main__``, each from its own file."""
    namespace: dict = {"__name__": "__main__"}
    exec(compile(f"def groups(user):\n    return [{table!r}]\n", f"pages/{table}.py", "exec"), namespace)
    return namespace["groups"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (functools.partial(groups_from_table, "admins"), functools.partial(groups_from_table, "viewers")),
        (lambda user: ["admins"], lambda user: ["viewers"]),
        (groups_of("admins"), groups_of("viewers")),
        (page_provider("admins"), page_provider("viewers")),
    ],
    ids=["partials", "lambdas", "closures", "two pages"],
)
def test_two_different_groups_providers_are_not_confused(idp, first, second):
    """Two providers that share a qualified name (partials, lambdas) must each decide their own groups."""
    token = access_token(idp)
    options = {
        "alb_arn": SIGNER.alb_arn,
        "client_id": "my-app",
        "key_url": idp.url("/alb"),
        "oidc_issuer": idp.url(REALM),
    }
    headers = SIGNER.headers(ADA, access_token=token).values()
    settings = resolve_settings(options, environ={}, secrets={})
    assert provider_identity(first) != provider_identity(second)  # so a session never reuses one's groups
    for provider, groups in ((first, ("admins",)), (second, ("viewers",))):
        assert authenticator_for(settings).authenticate(*headers, groups_provider=provider).groups == groups


def test_the_provider_called_is_the_one_passed_now(idp):
    """A rerun redefines the provider (equal settings): the new definition runs, not the first one."""
    options = {"alb_arn": SIGNER.alb_arn, "client_id": "my-app", "key_url": idp.url("/alb")}
    headers = SIGNER.headers(ADA).values()
    for table in ("before-edit", "after-edit"):
        namespace: dict = {"__name__": "__main__", "TABLE": table}
        exec(compile("def groups(user):\n    return [TABLE]\n", "app.py", "exec"), namespace)
        settings = resolve_settings(options, environ={}, secrets={})
        user = authenticator_for(settings).authenticate(*headers, groups_provider=namespace["groups"])
        assert user.groups == (table,)


def test_a_user_verified_with_a_closure_provider_pickles_without_its_token(idp):
    options = {"alb_arn": SIGNER.alb_arn, "client_id": "my-app", "key_url": idp.url("/alb")}
    settings = resolve_settings(options, environ={}, secrets={})
    data, identity, _ = SIGNER.headers(ADA).values()
    user = authenticator_for(settings).authenticate(data, identity, groups_provider=groups_of("a"))
    pickled = pickle.dumps(user)
    copied = pickle.loads(pickled)
    assert copied.groups == ("a",) and copied == user and copied.sub == user.sub
    assert data.encode() not in pickled and data.split(".")[2].encode() not in pickled


def test_one_user_cannot_spend_everyone_s_userinfo_budget(idp, caplog):
    """A signed-in user sending a new junk access token a request must not lock the others out."""
    idp.routes[REALM + "/userinfo"] = Reply.body(json.dumps({"sub": "sub-bob", "groups": ["ops"]}).encode())
    options = {
        "alb_arn": SIGNER.alb_arn,
        "client_id": "my-app",
        "key_url": idp.url("/alb"),
        "oidc_issuer": idp.url(REALM),
        "groups_claim": "groups",
    }
    authenticator = Authenticator(resolve_settings(options, environ={}, secrets={}), key_store=AlbKeyStore())
    data, identity, _ = SIGNER.headers(ADA).values()
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        for n in range(601):
            assert authenticator.authenticate(data, identity, f"junk-{n}").groups == ()
    bob = authenticator.authenticate(*SIGNER.headers({"sub": "sub-bob"}, access_token="bobs-token").values())
    assert bob.groups == ("ops",)
    # One warning for Ada's 601 refusals (refusals.RefusalLog), the rest counted, not written.
    assert caplog.text.count("groups withheld for sub sub-ada") == 1
    assert authenticator.refusals.suppressed == 600
    assert idp.count(REALM + "/userinfo") == 10 + 1  # Ada's allowance, then Bob's one check


@pytest.mark.parametrize("declared", ["\u00b2", "-1", "2, 900000"])
def test_a_malformed_content_length_is_a_response_error_not_unreachable(declared):
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\n\r\nab".encode("latin-1")

    def handler(conn):
        conn.sendall(head)

    with RawServer(handler) as server, pytest.raises(errors.FetchResponseError, match="Content-Length"):
        Fetcher(timeout=5, what="key server").get(server.url + "/")


def test_a_provider_that_differs_every_rerun_does_not_refetch_the_jwks(idp):
    """A closure over a fresh object each rerun is new settings each time, but the same verifiers."""
    options = {
        "alb_arn": SIGNER.alb_arn,
        "client_id": "my-app",
        "key_url": idp.url("/alb"),
        "oidc_issuer": idp.url(REALM),
    }
    token = access_token(idp)
    for _ in range(5):
        connection = object()  # say, a database handle opened by the script

        def provider(user, connection=connection):
            return ["from-db"]

        settings = resolve_settings(options, environ={}, secrets={})
        headers = SIGNER.headers(ADA, access_token=token).values()
        user = authenticator_for(settings).authenticate(*headers, groups_provider=provider)
        assert user.groups == ("from-db",)
    assert idp.count(REALM + "/certs") == 1
    assert idp.count(REALM + "/.well-known/openid-configuration") == 1


@pytest.mark.parametrize("roles", [{"admin": True}, 7, None, True])
def test_a_groups_claim_of_the_wrong_type_gives_no_groups_and_says_so(idp, caplog, roles):
    token = access_token(idp, {"realm_access": {"roles": roles}})
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, token)
    assert user.groups == ()
    if roles is not None:
        assert f"groups claim realm_access.roles is {type(roles).__name__}" in caplog.text


@pytest.mark.parametrize("path", ["realm_access.roles.0", "email.roles", "realm_access..roles", "."])
def test_a_dotted_groups_claim_through_a_non_object_gives_no_groups(idp, path):
    assert authenticate(idp, access_token(idp), groups_claim=path).groups == ()


def test_a_groups_provider_returning_a_mapping_grants_nothing(idp, caplog):
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, access_token(idp), groups_provider=lambda user: {"admin": False})
    assert user.groups == ()
    assert "groups_provider failed" in caplog.text


class UnreadableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message")


def test_a_groups_provider_error_whose_message_fails_still_withholds_groups(idp, caplog):
    def provider(user):
        raise UnreadableError

    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, access_token(idp), groups_provider=provider)
    assert user.groups == ()
    assert "groups_provider failed, groups withheld: UnreadableError" in caplog.text


def test_raw_headers_other_than_the_albs_are_ignored():
    raw = [
        (b"host", b"app.example"),
        (b"cookie", b"a=b"),
        (b"x-amzn-oidc-data", b"token"),
        (b"accept", b"*/*"),
    ]
    assert header_values(raw) == ("token", "", "")
    assert header_values([(b"x-amzn-oidc-identity", b""), (b"x-amzn-oidc-identity", b"sub-1")]) == (
        "",
        "sub-1",
        "",
    )


def test_no_alb_arn_is_a_configuration_error_saying_how_to_set_one():
    with pytest.raises(errors.ConfigurationError, match="No ALB ARN is configured") as raised:
        Authenticator(resolve_settings({}, environ={}, secrets={}))
    assert raised.value.setting == "alb_arn" and "ALB_AUTH_ALB_ARN" in str(raised.value)


def test_the_key_store_is_passed_by_keyword_only():
    settings = resolve_settings({"alb_arn": SIGNER.alb_arn}, environ={}, secrets={})
    with pytest.raises(TypeError):
        Authenticator(settings, AlbKeyStore())  # type: ignore[misc]


def test_authenticate_headers_takes_the_groups_provider_by_keyword_only():
    with pytest.raises(TypeError):
        authenticate_headers({}, lambda user: ["admin"])  # type: ignore[misc]


@pytest.mark.parametrize(
    "identity",
    ["sub-ab", "sub-adb", "", "SUB-ADA", "sub-ada "],
    ids=["sorts-before", "sorts-after", "empty", "other-case", "trailing-space"],
)
def test_an_identity_header_that_is_not_the_signed_sub_is_refused(idp, identity):
    """``x-amzn-oidc-identity`` is unsigned: it must equal the data token's ``sub`` exactly."""
    options = {"alb_arn": SIGNER.alb_arn, "client_id": "my-app", "key_url": idp.url("/alb")}
    authenticator = Authenticator(resolve_settings(options, environ={}, secrets={}), key_store=AlbKeyStore())
    with pytest.raises(errors.IdentityMismatchError):
        authenticator.authenticate(*SIGNER.headers(ADA, identity=identity).values())
    same = authenticator.authenticate(*SIGNER.headers(ADA, identity="".join(["sub-", "ada"])).values())
    assert same.sub == "sub-ada"  # an equal string, not the same object, is the match
