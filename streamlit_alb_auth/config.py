"""Settings for ``get_alb_user``: from arguments, then the environment, then ``st.secrets["alb_auth"]``.

Every setting is read from an argument, the environment variable ``ALB_AUTH_<NAME>`` and the key
``<name>`` of ``[alb_auth]`` in ``.streamlit/secrets.toml``. ``groups_provider`` is code, not a setting:
it is passed to ``authenticate`` where it is used, so settings stay plain, frozen, comparable data.
``settings_help.SETTING_HELP`` says what each one means; the docs site renders its settings table from it.

Each value is checked as soon as it is resolved (``ConfigurationError`` names the setting and where it
came from, never its value): ARNs and pool ids by their AWS syntax, URLs by the fetcher's own parser.
Pure Python: Streamlit is imported only to read ``st.secrets``. A leaf: it imports only the package's
other leaves (errors, urls, the ALB ARN and Cognito pool syntax).
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streamlit_alb_auth.alb_arn import AlbArn
from streamlit_alb_auth.cognito import USER_POOL_ID_PATTERN
from streamlit_alb_auth.errors import ConfigurationError
from streamlit_alb_auth.urls import parse_fetch_url, require_url_text

SECRETS_SECTION = "alb_auth"
DEFAULT_GROUPS_CLAIM = "cognito:groups"
DEFAULT_BEARER_GROUPS_CLAIM = "scope"
ENV_PREFIX = "ALB_AUTH_"
STRING_SETTINGS = (
    "client_id",
    "issuer",
    "key_url",
    "user_pool_id",
    "jwks_url",
    "oidc_issuer",
    "audience",
    "groups_claim",
    "userinfo_url",
    "bearer_issuer",
    "bearer_audience",
    "bearer_jwks_url",
    "bearer_groups_claim",
)
SETTING_NAMES = ("alb_arn", *STRING_SETTINGS, "userinfo")
# Documented with the settings, but code: passed to get_alb_user/alb_auth/authenticate, never resolved here.
ARGUMENT_ONLY = ("groups_provider",)


def environment_variable(name: str) -> str:
    """The environment variable a setting is read from: ``ALB_AUTH_`` and the name in capitals."""
    return f"{ENV_PREFIX}{name.upper()}"


# (name, environment variable, and how each source is named in an error), computed once.
_LOOKUPS = tuple(
    (
        name,
        environment_variable(name),
        f"{environment_variable(name)} variable",
        f"[{SECRETS_SECTION}] {name} secret",
    )
    for name in SETTING_NAMES
)


_GROUPS_CLAIM_PATTERN = re.compile(r"[\x21-\x7e]{1,200}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_FETCHED_URLS = ("key_url", "jwks_url", "oidc_issuer", "userinfo_url", "bearer_issuer", "bearer_jwks_url")

_NO_SECRETS_RECHECK = 2.0
_no_secrets: tuple[object, float] = (None, 0.0)


def forget_secrets_memo() -> None:
    """Look for the secrets file again on the next read (``testing.reset_state``)."""
    global _no_secrets
    _no_secrets = (None, 0.0)


HOW_TO_CONFIGURE = (
    "Set the ARN of your load balancer so only its tokens are trusted: "
    "get_alb_user(alb_arn=...), the ALB_AUTH_ALB_ARN environment variable, or "
    '[alb_auth] alb_arn = "arn:aws:elasticloadbalancing:..." in .streamlit/secrets.toml. '
    "For local development run `streamlit-alb-auth dev`, which configures all of this."
)


@dataclass(frozen=True)
class AlbAuthSettings:
    """Resolved, checked settings: plain data, frozen and hashable, so verifiers are cached per settings
    and two reads of the same configuration compare equal."""

    alb_arns: tuple[str, ...]
    client_id: str | None = None
    issuer: str | None = None
    key_url: str | None = None
    user_pool_id: str | None = None
    jwks_url: str | None = None
    oidc_issuer: str | None = None
    audience: str | None = None
    groups_claim: str = DEFAULT_GROUPS_CLAIM
    userinfo: bool = False
    userinfo_url: str | None = None
    bearer_issuer: str | None = None
    bearer_audience: str | None = None
    bearer_jwks_url: str | None = None
    bearer_groups_claim: str = DEFAULT_BEARER_GROUPS_CLAIM


def resolve_settings(
    arguments: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> AlbAuthSettings:
    """Each setting from the first source that has it: ``arguments``, ``environ``, ``secrets``; checked.

    Examples
    --------
    >>> resolve_settings({"alb_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
    ...                   "loadbalancer/app/my-alb/0123456789abcdef"}, environ={}, secrets={}).alb_arns
    ('arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/0123456789abcdef',)
    """
    env = os.environ if environ is None else environ
    section = _secrets_section() if secrets is None else secrets
    found: list[tuple[str, Any, str]] = []
    for name, variable, from_variable, from_secret in _LOOKUPS:
        value, source = arguments.get(name), "argument"
        if value is None:
            value, source = env.get(variable) or None, from_variable
            if name == "alb_arn" and value is not None:
                value = tuple(arn.strip() for arn in value.split(",") if arn.strip())
        if value is None:
            value, source = section.get(name), from_secret
        found.append((name, value, source))
    if "groups_provider" in arguments:
        raise ConfigurationError(
            "groups_provider is code, not a setting: pass it to get_alb_user, alb_auth or authenticate",
            setting="groups_provider",
        )
    unknown = sorted(set(arguments) - set(SETTING_NAMES))
    if unknown:
        raise ConfigurationError(f"unknown setting(s) {unknown}; known: {list(SETTING_NAMES)}")
    try:
        # A rerun reads the same values: check them once, not on every rerun.
        return checked_settings(tuple((n, _frozen(v), s) for n, v, s in found))
    except TypeError:  # a value that cannot be a cache key (a dict, say): checked below, and refused
        return _settings_from(found)


@functools.lru_cache(maxsize=64)  # process-wide: listed in caches.py
def checked_settings(found: tuple[tuple[str, Any, str], ...]) -> AlbAuthSettings:
    """Settings from ``(name, value, source)`` triples, checked once per distinct triple set."""
    return _settings_from(found)


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _settings_from(found: Iterable[tuple[str, Any, str]]) -> AlbAuthSettings:
    values = {name: value for name, value, _ in found}
    sources = {name: source for name, _, source in found}
    strings = {name: _optional_str(name, values[name], sources[name]) for name in STRING_SETTINGS}
    settings = AlbAuthSettings(
        alb_arns=_as_arn_tuple(values["alb_arn"], sources["alb_arn"]),
        **{
            **strings,
            "groups_claim": strings["groups_claim"] or DEFAULT_GROUPS_CLAIM,
            "bearer_groups_claim": strings["bearer_groups_claim"] or DEFAULT_BEARER_GROUPS_CLAIM,
        },
        userinfo=_as_bool("userinfo", values["userinfo"], sources["userinfo"]),
    )
    _check_values(settings, sources)
    return settings


def _check_values(settings: AlbAuthSettings, sources: Mapping[str, str]) -> None:
    """Each value on its own: syntax only, so it costs no fetch."""
    for arn in settings.alb_arns:
        try:
            AlbArn.parse(arn)
        except ConfigurationError:
            raise _bad("alb_arn", sources, "is not an Application Load Balancer ARN") from None
    if settings.user_pool_id and not USER_POOL_ID_PATTERN.fullmatch(settings.user_pool_id):
        raise _bad("user_pool_id", sources, "is not a Cognito user pool id (REGION_ID)")
    for name in _FETCHED_URLS:
        url = getattr(settings, name)
        if url:
            try:
                parse_fetch_url(url, name)
            except ConfigurationError as exc:
                raise _bad(name, sources, str(exc).removeprefix(name + " ")) from None
    if settings.issuer:
        try:
            require_url_text(settings.issuer, "issuer")
        except ConfigurationError as exc:
            raise _bad("issuer", sources, str(exc).removeprefix("issuer ")) from None
    for name in ("groups_claim", "bearer_groups_claim"):
        if not _GROUPS_CLAIM_PATTERN.fullmatch(getattr(settings, name)):
            raise _bad(name, sources, "must be a claim name or dotted path (printable ASCII, no spaces)")


def _bad(name: str, sources: Mapping[str, str], problem: str) -> ConfigurationError:
    return ConfigurationError(f"setting {name} (from the {sources[name]}) {problem}", setting=name)


def _as_arn_tuple(value: Any, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    arns = [value] if isinstance(value, str) else list(value) if isinstance(value, Iterable) else None
    if arns is None or not all(isinstance(arn, str) for arn in arns):
        raise ConfigurationError(
            f"alb_arn (from the {source}) must be a string or a list of strings", setting="alb_arn"
        )
    return tuple(arns)


def _optional_str(name: str, value: Any, source: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} (from the {source}) must be a string", setting=name)
    return value


def _as_bool(name: str, value: Any, source: str) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigurationError(f"{name} (from the {source}) must be true or false", setting=name)


def _secrets_section() -> Mapping[str, Any]:
    """``st.secrets["alb_auth"]`` if a secrets file defines it; an app without secrets is normal.

    Streamlit caches a secrets file it found, but looks for a missing one on every call (a few file
    checks, ~50 us a rerun); so the same ``st.secrets`` saying "no file" is believed for
    ``_NO_SECRETS_RECHECK`` seconds.
    """
    global _no_secrets  # process-wide: listed in caches.py
    import streamlit as st

    secrets = st.secrets
    if _no_secrets[0] is secrets and time.monotonic() < _no_secrets[1]:
        return {}
    try:
        if not secrets.load_if_toml_exists():
            _no_secrets = (secrets, time.monotonic() + _NO_SECRETS_RECHECK)
            return {}
        section = secrets.get(SECRETS_SECTION)
    except Exception:  # a malformed secrets file is Streamlit's to report; it is no source of ours
        return {}
    return section if isinstance(section, Mapping) else {}
