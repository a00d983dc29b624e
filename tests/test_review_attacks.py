"""Attacks from the security review of the verification core, each kept as a regression test.

Everything runs against real loopback servers (the local provider of ``test_idp.py``); each hostile
input must end in a typed error or in withheld groups with the reason logged, never an unhandled
exception or a hang.
"""

from __future__ import annotations

import itertools
import json
import logging

from pinning import Reply
from test_idp import REALM, access_token, authenticate, idp, jwks  # noqa: F401 - idp is a fixture


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
