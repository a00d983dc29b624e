"""What each setting means, for people: the text of the settings table (README and the docs site)."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import NamedTuple

from streamlit_alb_auth.config import DEFAULT_BEARER_GROUPS_CLAIM, DEFAULT_GROUPS_CLAIM


class SettingHelp(NamedTuple):
    """What a setting means, for people: the docs site's settings table is rendered from ``SETTING_HELP``
    (``scripts/docs_hooks.py``), so the table cannot drift from
    the names in ``config``. Text only: Markdown."""

    meaning: str
    environment: str = ""  # how a value is spelled in the variable, when it is not a plain string
    secret: str = ""  # how a value is spelled in the secret, when it is not a plain string


# In reading order. Names in ARGUMENT_ONLY are arguments, not settings.
SETTING_HELP: Mapping[str, SettingHelp] = types.MappingProxyType(
    {
        "alb_arn": SettingHelp(
            "**required**: the ALB(s) allowed to sign", "comma-separated", "string or list"
        ),
        "client_id": SettingHelp(
            "the token header's `client` must match; the access token's audience by default"
        ),
        "issuer": SettingHelp("the token header's `iss` must match"),
        "user_pool_id": SettingHelp("Cognito: verify the access token, enabling `groups`"),
        "oidc_issuer": SettingHelp(
            "any other OIDC provider: verify the access token against "
            "`{issuer}/.well-known/openid-configuration`"
        ),
        "audience": SettingHelp(
            "who the access token must be for (`aud`, or `client_id`/`azp`/`cid`/`appid`), with `userinfo` "
            "too; default `client_id`; `*`: any (only with `userinfo`)"
        ),
        "groups_claim": SettingHelp(
            f"where the groups are: `{DEFAULT_GROUPS_CLAIM}` (default), `groups`, `roles`, or a dotted "
            "path such as `realm_access.roles`"
        ),
        "userinfo": SettingHelp(
            "ask the provider's userinfo endpoint (once per session) instead of verifying the access token",
            "`1`/`0`; also true/false, yes/no, on/off",
            "true/false",
        ),
        "userinfo_url": SettingHelp("userinfo endpoint override (default: from discovery)"),
        "groups_provider": SettingHelp(
            "a callable `(user) -> iterable of str`: its result is `user.groups` (at most 1,000 strings; "
            "more, a mapping, or anything but strings withholds the groups)"
        ),
        "key_url": SettingHelp("ALB key service base (default: the ARN's region)"),
        "jwks_url": SettingHelp("JWKS override (local development; default: the pool's, or from discovery)"),
        "bearer_issuer": SettingHelp(
            "machine clients (`alb_auth()`): the `iss` of bearer tokens; unset, none is accepted"
        ),
        "bearer_audience": SettingHelp(
            "machine clients, required: the `aud` (or `client_id`/`azp`/`cid`/`appid`) a bearer token "
            "must have"
        ),
        "bearer_jwks_url": SettingHelp("machine clients: JWKS override (default: from discovery)"),
        "bearer_groups_claim": SettingHelp(
            f"machine clients: where the groups are: `{DEFAULT_BEARER_GROUPS_CLAIM}` (default, split on "
            "spaces) or a claim holding a list"
        ),
    }
)
