"""Attacks from the security review of the verification core, each kept as a regression test.

Everything runs against real loopback servers (the local provider of ``test_idp.py``); each hostile
input must end in a typed error or in withheld groups with the reason logged, never an unhandled
exception or a hang.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import pickle

import pytest
from pinning import Reply
from rawhttp import RawServer
from test_idp import ADA, REALM, SIGNER, access_token, authenticate, idp, jwks  # noqa: F401 - idp is a fixture

from streamlit_alb_auth import errors
from streamlit_alb_auth.authenticate import Authenticator, authenticator_for
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.fetch import Fetcher
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.session import provider_identity
from streamlit_alb_auth.testing import reset_state


@pytest.fixture(autouse=True)
def fresh_shared_key_store():
    """``authenticator_for`` uses the process-wide key store: give each test its full fetch budget."""
    reset_state()


def test_an_endless_groups_provider_withholds_groups(idp, caplog):  # noqa: F811
    def endless(user):
        return (f"group-{n}" for n in itertools.count())

    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, access_token(idp), groups_provider=endless)
    assert user.groups == ()
    assert "groups_provider failed" in caplog.text


def test_one_odd_jwks_entry_does_not_spoil_the_others(idp):  # noqa: F811
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
def test_two_different_groups_providers_are_not_confused(idp, first, second):  # noqa: F811
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


def test_the_provider_called_is_the_one_passed_now(idp):  # noqa: F811
    """A rerun redefines the provider (equal settings): the new definition runs, not the first one."""
    options = {"alb_arn": SIGNER.alb_arn, "client_id": "my-app", "key_url": idp.url("/alb")}
    headers = SIGNER.headers(ADA).values()
    for table in ("before-edit", "after-edit"):
        namespace: dict = {"__name__": "__main__", "TABLE": table}
        exec(compile("def groups(user):\n    return [TABLE]\n", "app.py", "exec"), namespace)
        settings = resolve_settings(options, environ={}, secrets={})
        user = authenticator_for(settings).authenticate(*headers, groups_provider=namespace["groups"])
        assert user.groups == (table,)


def test_a_user_verified_with_a_closure_provider_pickles_without_its_token(idp):  # noqa: F811
    options = {"alb_arn": SIGNER.alb_arn, "client_id": "my-app", "key_url": idp.url("/alb")}
    settings = resolve_settings(options, environ={}, secrets={})
    data, identity, _ = SIGNER.headers(ADA).values()
    user = authenticator_for(settings).authenticate(data, identity, groups_provider=groups_of("a"))
    pickled = pickle.dumps(user)
    copied = pickle.loads(pickled)
    assert copied.groups == ("a",) and copied == user and copied.sub == user.sub
    assert data.encode() not in pickled and data.split(".")[2].encode() not in pickled


def test_one_user_cannot_spend_everyone_s_userinfo_budget(idp, caplog):  # noqa: F811
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


def test_a_provider_with_an_empty_closure_cell_is_never_the_same_provider():
    def outer():
        def provider(user):
            return [later]

        return provider
        later = "never"  # unreachable: the cell stays empty

    assert provider_identity(outer()) != provider_identity(outer())


def test_a_provider_that_differs_every_rerun_does_not_refetch_the_jwks(idp):  # noqa: F811
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
def test_a_groups_claim_of_the_wrong_type_gives_no_groups_and_says_so(idp, caplog, roles):  # noqa: F811
    token = access_token(idp, {"realm_access": {"roles": roles}})
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, token)
    assert user.groups == ()
    if roles is not None:
        assert f"groups claim realm_access.roles is {type(roles).__name__}" in caplog.text


@pytest.mark.parametrize("path", ["realm_access.roles.0", "email.roles", "realm_access..roles", "."])
def test_a_dotted_groups_claim_through_a_non_object_gives_no_groups(idp, path):  # noqa: F811
    assert authenticate(idp, access_token(idp), groups_claim=path).groups == ()


def test_a_groups_provider_returning_a_mapping_grants_nothing(idp, caplog):  # noqa: F811
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, access_token(idp), groups_provider=lambda user: {"admin": False})
    assert user.groups == ()
    assert "groups_provider failed" in caplog.text


class UnreadableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message")


def test_a_groups_provider_error_whose_message_fails_still_withholds_groups(idp, caplog):  # noqa: F811
    def provider(user):
        raise UnreadableError

    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user = authenticate(idp, access_token(idp), groups_provider=provider)
    assert user.groups == ()
    assert "groups_provider failed, groups withheld: UnreadableError" in caplog.text
