"""Shared fixtures: a local ALB signer, a real loopback key server, and a verifier wired to both."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, LocalKeyServer, reset_state
from streamlit_alb_auth.verify import AlbJwtVerifier

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Headless Debian Chromium on a machine whose network is closed: no background traffic to fail on.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium (or $CHROMIUM_PATH); skipped where absent, except in CI, where it must run."""
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI is set, so the browser tests must run")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium_launch_options(chromium_path: Path) -> dict[str, object]:
    """Keyword arguments for Playwright's ``chromium.launch``."""
    return {"executable_path": str(chromium_path), "headless": True, "args": CHROMIUM_ARGS}


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
def pool_settings(
    signer: LocalAlbSigner, pool: LocalCognitoPool, key_server: LocalKeyServer
) -> dict[str, str]:
    """Settings for the local ALB signer and user pool, their keys served by ``key_server``."""
    return {
        "alb_arn": signer.alb_arn,
        "client_id": signer.client_id,
        "key_url": key_server.alb_key_url,
        "user_pool_id": pool.user_pool_id,
        "jwks_url": key_server.jwks_url,
    }


@pytest.fixture
def alb_environment(
    monkeypatch: pytest.MonkeyPatch,
    signer: LocalAlbSigner,
    pool: LocalCognitoPool,
    key_server: LocalKeyServer,
) -> LocalKeyServer:
    """``ALB_AUTH_*`` for an app behind the local signer, key server and pool; every other one unset."""
    # Each key server listens on a new port, so a new URL: give it the shared store's full fetch budget.
    reset_state()
    for name in [name for name in os.environ if name.startswith("ALB_AUTH_")]:
        monkeypatch.delenv(name)
    settings = {
        "ALB_ARN": signer.alb_arn,
        "CLIENT_ID": signer.client_id,
        "KEY_URL": key_server.alb_key_url,
        "USER_POOL_ID": pool.user_pool_id,
        "JWKS_URL": key_server.jwks_url,
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"ALB_AUTH_{name}", value)
    return key_server


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
