"""``signed_in()`` and ``signed_out()``: your pages under Streamlit's ``AppTest`` as a chosen user.

Nothing is bypassed. Inside the block a fresh ES256 key signs the ALB's ``x-amzn-oidc-data`` exactly
as the ALB does, a key server on a free loopback port serves its public key (and the identity
provider's JWKS and discovery document), and the package is configured through its own ``ALB_AUTH_*``
variables. Each ``AppTest`` run in the block then receives the headers as ``st.context.headers``, and
``get_alb_user()`` verifies them on its ordinary path: signature, signer, ``exp``, the access token.

How the headers get there: ``st.context.headers`` reads the session client's connection context, which
``AppTest`` has none of (its runtime is a stand-in). For the block only, Streamlit's lookup of that context
(``streamlit.runtime.context._get_client_context``) answers ``AppTest`` runs with the signed headers;
any other caller gets Streamlit's own answer. On leaving, the lookup, the environment and the package's
caches are restored, and the key server is stopped. A server that never imports this module is untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from streamlit_alb_auth.config import ENV_PREFIX, environment_variable
from streamlit_alb_auth.localidp import DEFAULT_TEST_CLIENT_ID, LocalOidcProvider
from streamlit_alb_auth.testing import LocalKeyServer, reset_state
from streamlit_alb_auth.testing.signing import DEFAULT_TEST_ALB_ARN, LocalAlbSigner, LocalCognitoPool

__all__ = ["SignedIn", "click_logout", "signed_in", "signed_out"]

Provider = Literal["cognito", "oidc"]
_lock = threading.Lock()
_active = False


@dataclass(frozen=True)
class SignedIn:
    """What a ``signed_in()`` block set up: the request's ``headers`` (empty when signed out), the
    ``settings`` the package was configured with (setting name to value, also in ``ALB_AUTH_*``), and
    the local ``signer`` and ``keys`` (key server), for tests that mint more tokens."""

    headers: Mapping[str, str]
    settings: Mapping[str, str]
    signer: LocalAlbSigner
    keys: LocalKeyServer
    provider: LocalOidcProvider | None = field(default=None)


@dataclass(frozen=True)
class _ClientContext:
    """Streamlit's ``ClientContext`` protocol: what a browser's websocket handshake carried."""

    headers: tuple[tuple[str, str], ...]
    cookies: Mapping[str, str] = field(default_factory=dict)
    remote_ip: str | None = "127.0.0.1"


@contextlib.contextmanager
def signed_in(
    email: str | None = "user@example.com",
    *,
    groups: Iterable[str] = (),
    sub: str | None = None,
    name: str | None = None,
    claims: Mapping[str, Any] | None = None,
    provider: Provider | None = "cognito",
    groups_claim: str | None = None,
    expired: bool = False,
    forged: bool = False,
    alb_arn: str = DEFAULT_TEST_ALB_ARN,
    client_id: str = DEFAULT_TEST_CLIENT_ID,
) -> Iterator[SignedIn]:
    """Run the ``AppTest`` runs inside the block as a user the ALB signed in, verified for real.

    Parameters
    ----------
    email : str or None
        The user's ``email`` claim.
    groups : iterable of str
        The user's groups, carried where the provider puts them: a Cognito user pool's access token
        (``cognito:groups``), or a generic OIDC issuer's (``groups``, or ``groups_claim``).
    sub, name, claims
        The ``sub`` (default: from the email), ``name``, and any other claims of the ALB's token.
    provider : "cognito", "oidc" or None
        Who verifies the access token: a user pool (``user_pool_id``; JWKS served locally), a generic
        OIDC issuer on loopback (``oidc_issuer``; discovery and JWKS served), or nobody (no groups).
    groups_claim : str, optional
        Where a generic issuer puts the groups (default ``groups``; ``roles``, ``realm_access.roles``);
        the ``groups_claim`` setting says the same.
    expired, forged : bool
        ``expired``: the ALB's token expired an hour ago. ``forged``: signed by another key under the
        real key's ``kid``. Either is refused by the page, which shows its error.
    alb_arn, client_id : str
        The ALB and app client the tokens are for; pass your app's if its code passes them too.

    Yields
    ------
    SignedIn
        The headers and settings in force.

    Examples
    --------
    >>> from streamlit.testing.v1 import AppTest
    >>> from streamlit_alb_auth.testing import signed_in
    >>>
    >>> def test_admin_page_refuses_others():
    ...     with signed_in(email="ann@example.com", groups=["analyst"]):
    ...         at = AppTest.from_file("pages/admin.py").run()
    ...     assert "not allowed" in at.error[0].value
    """
    groups = [groups] if isinstance(groups, str) else list(groups)
    if groups and provider is None:
        raise ValueError("signed_in: groups come from an identity provider's access token; set provider")
    with _block(alb_arn, client_id, provider, groups_claim) as (keys, signer, idp, settings):
        subject = sub or (f"user-{email.partition('@')[0]}" if email else "user-1")
        data_claims: dict[str, Any] = {"sub": subject}
        data_claims.update({k: v for k, v in (("email", email), ("name", name)) if v is not None})
        data_claims.update(claims or {})
        access = idp.access_token(subject, groups=groups) if idp is not None else ""
        headers = _headers(signer, data_claims, access, expired=expired, forged=forged)
        with _serving(headers):
            yield SignedIn(headers, settings, signer, keys, idp)


@contextlib.contextmanager
def signed_out(
    *, alb_arn: str = DEFAULT_TEST_ALB_ARN, client_id: str = DEFAULT_TEST_CLIENT_ID
) -> Iterator[SignedIn]:
    """Run the ``AppTest`` runs inside the block as a request without the ALB's headers (the page's
    "not signed in" path), with the package configured as in ``signed_in()``."""
    with _block(alb_arn, client_id, "cognito", None) as (keys, signer, idp, settings), _serving({}):
        yield SignedIn({}, settings, signer, keys, idp)


def click_logout(at: Any, *, index: int = 0) -> Any:
    """Click the page's ``logout_button`` (the ``index``-th) as the browser does, and rerun ``at``.

    In the rerun ``logout_button`` returns True and the user is forgotten; the browser would then leave
    for the logout path, which ``AppTest`` cannot follow.
    """
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    buttons = [e for e in at.get("bidi_component") if "button" in json.loads(e.proto.json or "{}")]
    if len(buttons) <= index:
        raise LookupError(f"the page shows {len(buttons)} logout button(s); no button {index}")
    states = at._tree.get_widget_states()
    trigger = states.widgets.add()
    trigger.id = _make_trigger_id(buttons[index].proto.id, "events")
    trigger.json_trigger_value = json.dumps([{"event": "logout", "value": True}])
    return at._run(states)


@contextlib.contextmanager
def _block(
    alb_arn: str, client_id: str, provider: Provider | None, groups_claim: str | None
) -> Iterator[tuple[LocalKeyServer, LocalAlbSigner, LocalOidcProvider | None, dict[str, str]]]:
    global _active
    with _lock:
        if _active:
            raise RuntimeError("signed_in()/signed_out() blocks do not nest: leave the first one")
        _active = True
    saved = {name: value for name, value in os.environ.items() if name.startswith(ENV_PREFIX)}
    try:
        with LocalKeyServer() as keys:
            idp = _provider(provider, keys, client_id, groups_claim)
            signer = LocalAlbSigner(alb_arn=alb_arn, client_id=client_id, **_issuer(idp))
            keys.add_signer(signer)
            settings = _settings(alb_arn, client_id, keys, signer, idp)
            for variable in saved:
                del os.environ[variable]
            os.environ.update({environment_variable(n): v for n, v in settings.items()})
            reset_state()
            yield keys, signer, idp, settings
    finally:
        for variable in [name for name in os.environ if name.startswith(ENV_PREFIX)]:
            del os.environ[variable]
        os.environ.update(saved)
        reset_state()
        with _lock:
            _active = False


def _settings(
    alb_arn: str, client_id: str, keys: LocalKeyServer, signer: LocalAlbSigner, idp: LocalOidcProvider | None
) -> dict[str, str]:
    """Every setting a secrets file could also set that would change the verdict, so the app's own
    ``[alb_auth]`` secrets (a production ``issuer`` or ``audience``, say) cannot override the block's."""
    settings = {
        "alb_arn": alb_arn,
        "key_url": keys.alb_key_url,
        "client_id": client_id,
        "issuer": signer.issuer,
    }
    if idp is None:
        return settings
    settings.update(audience=client_id, groups_claim=idp.groups_claim, userinfo="0")
    if isinstance(idp, LocalCognitoPool):
        settings.update(user_pool_id=idp.user_pool_id, jwks_url=keys.jwks_url)
    else:
        settings["oidc_issuer"] = idp.issuer  # its JWKS through discovery, as in production
    return settings


def _provider(
    kind: Provider | None, keys: LocalKeyServer, client_id: str, groups_claim: str | None
) -> LocalOidcProvider | None:
    if kind is None:
        return None
    if kind == "cognito":
        pool = LocalCognitoPool(client_id=client_id)
        keys.add_pool(pool)
        return pool
    if kind == "oidc":
        idp = LocalOidcProvider(
            issuer=f"{keys.base_url}/oidc", client_id=client_id, groups_claim=groups_claim or "groups"
        )
        keys.add_provider(idp)
        return idp
    raise ValueError(f"signed_in provider must be 'cognito', 'oidc' or None; got {kind!r}")


def _issuer(idp: LocalOidcProvider | None) -> dict[str, str]:
    return {"issuer": idp.issuer} if idp is not None else {}


def _headers(
    signer: LocalAlbSigner, claims: Mapping[str, Any], access: str, *, expired: bool, forged: bool
) -> dict[str, str]:
    if forged:  # another key, presenting the real key's kid: the signature check must refuse it
        signer = LocalAlbSigner(
            alb_arn=signer.alb_arn, client_id=signer.client_id, issuer=signer.issuer, kid=signer.kid
        )
    data = signer.sign(claims, now=time.time() - 3600 if expired else None)
    return {
        "x-amzn-oidc-data": data,
        "x-amzn-oidc-identity": str(claims["sub"]),
        "x-amzn-oidc-accesstoken": access,
    }


@contextlib.contextmanager
def _serving(headers: Mapping[str, str]) -> Iterator[None]:
    """Streamlit's client-context lookup answers ``AppTest`` runs with ``headers``, for the block."""
    from streamlit import config
    from streamlit.runtime import context

    original = getattr(context, "_get_client_context", None)
    if original is None:
        raise RuntimeError(
            "signed_in() needs streamlit.runtime.context._get_client_context (Streamlit 1.67): "
            "this Streamlit has none, so AppTest runs could not receive the ALB's headers"
        )
    client = _ClientContext(tuple(headers.items()))

    def client_context() -> Any:
        return client if config.get_option("global.appTest") else original()

    context._get_client_context = client_context
    try:
        yield
    finally:
        context._get_client_context = original
