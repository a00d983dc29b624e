"""Every process-wide cache of the package, listed in one place, and the one way to clear them all.

Each cache lives beside the code that fills it; this list is where they are named, bounded and cleared.
``streamlit_alb_auth.testing.reset_state()`` calls ``clear_all()`` so a test starts from a fresh process's
state without touching a private name. A module not imported yet has nothing cached, so it is skipped
(clearing never imports Streamlit).

==========================================  =============================================  ==============
cache                                       holds                                          bound
==========================================  =============================================  ==============
``authenticate.SHARED_KEY_STORE``           ALB public keys by URL; failed fetches; budget  256 keys
``authenticate.authenticator_for``          one ``Authenticator`` (verifiers, JWKS) each    16 settings
                                            distinct settings
``bearer.bearer_verifier_for``              one ``BearerVerifier`` (its JWKS) each          16 settings
                                            distinct settings
``bearer`` verified bearer tokens           machine clients by token SHA-256, until exp     1,024 tokens
``config.checked_settings``                 settings checked once per set of read values   64
``config`` "no secrets file" memo           that ``st.secrets`` has no file, for 2 s        1
``session`` logged configuration problems   each misconfiguration logged once              64 messages
``logout`` component renderers              the button's mount function per app manager    weak keys
==========================================  =============================================  ==============
"""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["CACHES", "clear_all"]


def _key_store() -> None:
    sys.modules["streamlit_alb_auth.authenticate"].SHARED_KEY_STORE.clear()


def _authenticators() -> None:
    sys.modules["streamlit_alb_auth.authenticate"].authenticator_for.cache_clear()


def _bearer_verifiers() -> None:
    sys.modules["streamlit_alb_auth.bearer"].bearer_verifier_for.cache_clear()


def _bearer_tokens() -> None:
    sys.modules["streamlit_alb_auth.bearer"].forget_verified()


def _settings() -> None:
    sys.modules["streamlit_alb_auth.config"].checked_settings.cache_clear()


def _secrets_memo() -> None:
    sys.modules["streamlit_alb_auth.config"].forget_secrets_memo()


def _logged_problems() -> None:
    sys.modules["streamlit_alb_auth.session"].forget_logged_problems()


def _renderers() -> None:
    sys.modules["streamlit_alb_auth.logout"].forget_renderers()


# (module that owns it, what it is, how to clear it)
CACHES: tuple[tuple[str, str, Callable[[], None]], ...] = (
    ("streamlit_alb_auth.authenticate", "the shared ALB key store", _key_store),
    ("streamlit_alb_auth.authenticate", "authenticators per settings", _authenticators),
    ("streamlit_alb_auth.bearer", "bearer verifiers per settings", _bearer_verifiers),
    ("streamlit_alb_auth.bearer", "verified bearer tokens", _bearer_tokens),
    ("streamlit_alb_auth.config", "checked settings", _settings),
    ("streamlit_alb_auth.config", "the no-secrets-file memo", _secrets_memo),
    ("streamlit_alb_auth.session", "configuration problems already logged", _logged_problems),
    ("streamlit_alb_auth.logout", "component renderers", _renderers),
)


def clear_all() -> None:
    """Empty every process-wide cache of the modules imported so far."""
    for module, _what, clear in CACHES:
        if module in sys.modules:
            clear()
