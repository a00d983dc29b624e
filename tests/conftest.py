"""Shared fixtures: a local ALB signer, a real loopback key server, and a verifier wired to both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, LocalKeyServer
from streamlit_alb_auth.verify import AlbJwtVerifier


@pytest.fixture(scope="session")
def signer() -> LocalAlbSigner:
    return LocalAlbSigner()


@pytest.fixture(scope="session")
def pool() -> LocalCognitoPool:
    return LocalCognitoPool()


@pytest.fixture
def key_server(signer: LocalAlbSigner, pool: LocalCognitoPool) -> Iterator[LocalKeyServer]:
    with LocalKeyServer(signer, pools=[pool]) as server:
        yield server


@pytest.fixture
def key_store() -> AlbKeyStore:
    """Short timeouts so the slow-server cases finish quickly; otherwise the defaults."""
    return AlbKeyStore(connect_timeout=1.0, read_timeout=0.5, total_timeout=1.0)


@pytest.fixture
def verifier(signer: LocalAlbSigner, key_server: LocalKeyServer, key_store: AlbKeyStore) -> AlbJwtVerifier:
    return AlbJwtVerifier(
        alb_arn=signer.alb_arn,
        client_id=signer.client_id,
        issuer=signer.issuer,
        key_url=key_server.alb_key_url,
        key_store=key_store,
    )
