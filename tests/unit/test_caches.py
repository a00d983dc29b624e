"""Every process-wide cache is listed in ``caches.py`` and emptied by ``testing.reset_state()``."""

from __future__ import annotations

import importlib
import warnings

import pytest

from streamlit_alb_auth import caches
from streamlit_alb_auth.authenticate import SHARED_KEY_STORE, authenticator_for, header_values
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.errors import MalformedTokenError
from streamlit_alb_auth.testing import LocalAlbSigner, LocalKeyServer, reset_state


def test_reset_state_empties_the_key_store_and_the_authenticators():
    signer = LocalAlbSigner()
    with LocalKeyServer(signer) as keys:
        settings = resolve_settings({"alb_arn": signer.alb_arn, "key_url": keys.alb_key_url}, secrets={})
        first = authenticator_for(settings)
        assert first.authenticate(*signer.headers({"sub": "ada"}).values()).sub == "ada"
        assert len(SHARED_KEY_STORE) >= 1 and authenticator_for(settings) is first
        reset_state()
        assert len(SHARED_KEY_STORE) == 0
        assert authenticator_for(settings) is not first
        assert authenticator_for.cache_info().currsize == 1


def test_every_listed_cache_clears_once_its_module_is_imported():
    for module, _what, clear in caches.CACHES:
        importlib.import_module(module)
        clear()  # raises if the list names something the module no longer has
    assert {module for module, _, _ in caches.CACHES} >= {
        "streamlit_alb_auth.authenticate",
        "streamlit_alb_auth.config",
        "streamlit_alb_auth.session",
        "streamlit_alb_auth.logout",
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Amzn-Oidc-Data": "a", "x-amzn-oidc-data": "b"},
        [(b"x-amzn-oidc-identity", b"a"), (b"X-Amzn-Oidc-Identity", b"a")],
    ],
    ids=["mapping", "asgi"],
)
def test_one_header_reader_refuses_a_repeated_alb_header_at_either_door(headers):
    with pytest.raises(MalformedTokenError, match="more than once"):
        header_values(headers)


def test_the_streamlit_headers_mapping_shows_its_repeats_to_the_reader():
    from streamlit.runtime.context import StreamlitHeaders

    repeated = StreamlitHeaders([("x-amzn-oidc-data", "a"), ("X-Amzn-Oidc-Data", "b"), ("host", "h")])
    with pytest.raises(MalformedTokenError):
        header_values(repeated)
    single = StreamlitHeaders([("X-Amzn-Oidc-Data", "d"), ("x-amzn-oidc-identity", "i")])
    assert header_values(single) == ("d", "i", "")


def test_the_old_auth_module_still_imports_with_a_deprecation_warning():
    import sys

    sys.modules.pop("streamlit_alb_auth.auth", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from streamlit_alb_auth.auth import authenticator_for as old

    assert old is authenticator_for
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any("authenticate" in message for message in messages)
