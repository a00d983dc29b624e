"""Attack stories about access tokens, each asserting the safe outcome (issue 21, items 4 and 5).

The attacker is a signed-in user (their data token verifies) who controls the access-token header.
"""

from __future__ import annotations

import base64
import logging
import os
import time

import pytest
from helpers.pinning import FakeClock

from streamlit_alb_auth.asgi.verifier import RequestVerifier
from streamlit_alb_auth.authenticate import Authenticator
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.refusals import RefusalLog

USER = {"sub": "user-1", "email": "user@example.com"}
MALLORY = {"sub": "mallory", "email": "mallory@example.com"}


def _door(signer, pool, key_server, clock=time.time, **options) -> RequestVerifier[None]:
    settings = resolve_settings(
        {
            "alb_arn": signer.alb_arn,
            "client_id": signer.client_id,
            "key_url": key_server.alb_key_url,
            "user_pool_id": pool.user_pool_id,
            "jwks_url": key_server.jwks_url,
        },
        environ={},
        secrets={},
    )
    authenticator = Authenticator(settings, key_store=AlbKeyStore(), clock=clock)
    return RequestVerifier(settings, lambda user: None, authenticator=authenticator, **options)


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in headers.items()]


def _junk(genuine: str) -> str:
    """Mallory's own token with a fresh random signature: JWT-shaped, signed-looking, never valid."""
    header, claims, _ = genuine.split(".")
    return f"{header}.{claims}.{base64.urlsafe_b64encode(os.urandom(256)).decode().rstrip('=')}"


def test_a_flood_of_fresh_junk_access_tokens_neither_evicts_a_user_nor_floods_the_log(
    signer, pool, key_server, caplog
):
    door = _door(signer, pool, key_server)
    real = _raw(signer.headers(USER, access_token=pool.access_token("user-1", groups=["admins"])))
    assert door.verify(real)[0].groups == ("admins",)
    assert door.verifications == 1
    mallory = signer.headers(MALLORY)
    genuine = pool.access_token("mallory")
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        for _ in range(600):  # more than the door's 512 remembered users
            user, _ = door.verify(_raw({**mallory, "x-amzn-oidc-accesstoken": _junk(genuine)}))
            assert (user.sub, user.groups) == ("mallory", ())
    assert door.verifications == 601
    assert door.verify(real)[0].groups == ("admins",)
    assert door.verifications == 601  # still a cache hit: the junk never displaced the verified user
    lines = [record for record in caplog.records if "mallory" in record.getMessage()]
    assert len(lines) == 1, [record.getMessage() for record in lines]
    assert "access token not trusted" in lines[0].getMessage()
    assert genuine.split(".")[1] not in caplog.text  # no part of a token reaches the log


def test_the_same_junk_token_again_is_a_short_lived_cache_hit(signer, pool, key_server):
    clock = FakeClock(time.time())
    door = _door(signer, pool, key_server, clock)  # refused_ttl: 10 s by default
    junk = _raw(signer.headers(MALLORY, access_token=_junk(pool.access_token("mallory")), expires_in=600))
    for _ in range(3):
        assert door.verify(junk)[0].groups == ()
    assert door.verifications == 1
    clock.now += 10  # a refusal is remembered briefly: a JWKS outage or a rate limit does not stick
    assert door.verify(junk)[0].groups == ()
    assert door.verifications == 2


def test_a_refused_users_warnings_are_counted_and_summed_up_once_an_interval(caplog):
    clock = FakeClock()
    log = RefusalLog(logging.getLogger("streamlit_alb_auth"), interval=60.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        written = [log.refused("mallory", f"junk {n}") for n in range(600)]
        log.refused("user-1", "no access token")
        clock.now += 60
        written.append(log.refused("mallory", "junk again"))
    assert written.count(True) == 2 and written[0] and written[-1]
    assert log.suppressed == 599
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "groups withheld for sub mallory: junk 0",
        "groups withheld for sub user-1: no access token",
        "groups withheld for sub mallory: junk again (599 more refused for sub mallory in the 60 s before)",
    ]


def test_the_refusal_log_escapes_a_hostile_sub_and_forgets_the_oldest_users(caplog):
    log = RefusalLog(logging.getLogger("streamlit_alb_auth"), max_subs=2, clock=FakeClock())
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        log.refused("evil\nFORGED line", "r")
        for sub in ("a", "b"):  # pushes the first user out: its next refusal is written again
            log.refused(sub, "r")
        assert log.refused("evil\nFORGED line", "r") is True
    assert all("\n" not in record.getMessage() for record in caplog.records)
    assert "evil\\nFORGED line" in caplog.records[0].getMessage()


def test_the_door_and_the_authenticator_take_their_options_by_name(signer, pool, key_server):
    door = _door(signer, pool, key_server)
    settings = door.settings
    with pytest.raises(TypeError):
        Authenticator(settings, AlbKeyStore())  # type: ignore[misc]
    with pytest.raises(TypeError):
        RequestVerifier(settings, lambda user: None, None)  # type: ignore[misc]
    data, identity, token = signer.headers(USER).values()
    with pytest.raises(TypeError):
        Authenticator(settings).authenticate(data, identity, token, None)  # type: ignore[misc]


@pytest.mark.parametrize(("claim", "warned"), [("admins", False), (["admins"], False), (7, True), ({}, True)])
def test_only_a_groups_claim_of_the_wrong_type_is_warned_about(
    signer, pool, key_server, caplog, claim, warned
):
    door = _door(signer, pool, key_server)
    token = pool.access_token("user-1", claims={"cognito:groups": claim})
    with caplog.at_level(logging.WARNING, logger="streamlit_alb_auth"):
        user, _ = door.verify(_raw(signer.headers(USER, access_token=token)))
    assert user.groups == (("admins",) if not warned else ())
    assert ("groups claim cognito:groups is" in caplog.text) is warned
