"""RequestVerifier, the door's memory of verified header sets: a hit, a token past its exp, the bound."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamlit_alb_auth.asgi.verifier import RequestVerifier
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, LocalKeyServer, reset_state
from streamlit_alb_auth.user import AlbUser

ADA = {"sub": "sub-ada", "email": "ada@example.com"}
GRACE = {"sub": "sub-grace", "email": "grace@example.com"}


@pytest.fixture
def door(signer: LocalAlbSigner, pool: LocalCognitoPool, key_server: LocalKeyServer) -> Iterator[object]:
    reset_state()

    def make(cache_size: int = 512) -> tuple[RequestVerifier[list[str]], list[str]]:
        settings = {
            "alb_arn": signer.alb_arn,
            "key_url": key_server.alb_key_url,
            "user_pool_id": pool.user_pool_id,
            "client_id": pool.client_id,
            "jwks_url": key_server.jwks_url,
        }
        derived: list[str] = []

        def derive(user: AlbUser) -> list[str]:
            derived.append(user.sub)
            return list(user.groups)

        resolved = resolve_settings(settings, environ={}, secrets={})
        return RequestVerifier(resolved, derive, cache_size=cache_size), derived

    yield make
    reset_state()


def raw_headers(signer: LocalAlbSigner, claims: dict[str, str], token: str) -> list[tuple[bytes, bytes]]:
    headers = signer.headers(claims, access_token=token)
    return [(name.encode(), value.encode()) for name, value in headers.items()]


def test_a_request_seen_before_is_answered_from_the_cache(door, signer, pool):
    verifier, derived = door()
    headers = raw_headers(signer, ADA, pool.access_token("sub-ada", groups=["admin"]))
    first = verifier.verify(headers)
    assert first[0].groups == ("admin",) and first[1] == ["admin"]
    assert verifier.verify(headers) is first
    assert derived == ["sub-ada"]


def test_an_access_token_just_past_its_exp_is_remembered_until_the_leeway_ends(door, signer, pool):
    # Within the access-token check's 30 s leeway the token still verifies, so the door's memory lasts
    # as long (test_asgi_verifier_door.py pins the far end with an injected clock).
    verifier, derived = door()
    headers = raw_headers(signer, ADA, pool.access_token("sub-ada", groups=["admin"], expires_in=-5))
    first = verifier.verify(headers)
    assert first[0].groups == ("admin",)
    assert verifier.verify(headers) is first
    assert derived == ["sub-ada"]


def test_the_door_keeps_the_most_recent_cache_size_header_sets(door, signer, pool):
    verifier, derived = door(cache_size=1)
    ada = raw_headers(signer, ADA, pool.access_token("sub-ada"))
    grace = raw_headers(signer, GRACE, pool.access_token("sub-grace"))
    verifier.verify(ada)
    verifier.verify(ada)
    verifier.verify(grace)
    verifier.verify(ada)  # pushed out by grace: verified again
    assert derived == ["sub-ada", "sub-grace", "sub-ada"]
