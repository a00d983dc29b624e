"""``AlbUser``: the verified identity, with the same fields whichever identity provider signed the user in.

What each provider puts in ``x-amzn-oidc-data`` differs (seen in real ALB tokens): Cognito sends
``username`` and ``email``; Entra ID ``name``, ``email`` and a Graph ``picture`` URL; Google, with the
default scope, only ``sub`` and ``picture``; Auth0 ``nickname``, ``name`` and ``picture``. The
properties below read whichever claim the provider sent, from the ALB-signed claims first, then from
what the IdP itself vouched for (the verified access token or the userinfo answer).
Also the one claim normaliser: where the groups are in a set of claims, and what a ``groups_provider``
may return. Pure: no Streamlit import, no fetch, no settings; an ``AlbUser`` is plain data.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

from streamlit_alb_auth.config import DEFAULT_GROUPS_CLAIM

MAX_PROVIDED_GROUPS = 1000
_IDP_BY_HOST_SUFFIX = (
    (".amazonaws.com", "cognito"),
    ("login.microsoftonline.com", "entra"),
    ("sts.windows.net", "entra"),
    ("accounts.google.com", "google"),
    (".auth0.com", "auth0"),
    (".okta.com", "okta"),
    (".oktapreview.com", "okta"),
)


class AlbUser(Mapping[str, Any]):
    """The signed-in user as the ALB vouched for it: a read-only sibling of ``st.user``.

    Item and attribute access read the verified ``x-amzn-oidc-data`` claims (``user["email"]``,
    ``user.email``); ``"is_logged_in"`` is always present. ``email``, ``name``, ``username``,
    ``picture``, ``issuer`` and ``idp`` are normalised across providers. ``groups`` come only from what
    the identity provider vouched for (a verified access token, userinfo, or your ``groups_provider``),
    because the ALB does not sign the access token and anyone able to reach the app could forge it.

    A machine client (``is_machine`` True; ``bearer.BearerVerifier`` makes it) is the same type: its
    ``claims`` are its verified bearer token's, ``client_id`` names it and ``groups`` come from the
    configured claim (``scope`` by default), so page authorization treats agents as it treats people.
    """

    __slots__ = (
        "_access_token_claims",
        "_claims",
        "_groups",
        "_header",
        "_machine",
        "_problem",
        "_userinfo",
    )

    def __new__(
        cls,
        claims: Mapping[str, Any] | None = None,
        *,
        access_token_claims: Mapping[str, Any] | None = None,
        userinfo: Mapping[str, Any] | None = None,
        groups: tuple[str, ...] | None = None,
        header: Mapping[str, Any] | None = None,
        problem: str | None = None,
        machine: bool = False,
    ) -> AlbUser:
        self = super().__new__(cls)
        access = MappingProxyType(dict(access_token_claims or {}))
        answer = MappingProxyType(dict(userinfo or {}))
        if groups is None:
            groups = groups_in(answer, DEFAULT_GROUPS_CLAIM) or groups_in(access, DEFAULT_GROUPS_CLAIM) or ()
        object.__setattr__(self, "_claims", MappingProxyType(dict(claims or {})))
        object.__setattr__(self, "_access_token_claims", access)
        object.__setattr__(self, "_userinfo", answer)
        object.__setattr__(self, "_groups", tuple(groups))
        object.__setattr__(self, "_header", MappingProxyType(dict(header or {})))
        object.__setattr__(self, "_problem", problem)
        object.__setattr__(self, "_machine", bool(machine))
        return self

    def _first(self, *names: str) -> str | None:
        for source in (self._claims, self._userinfo, self._access_token_claims):
            for name in names:
                value = source.get(name)
                if isinstance(value, str) and value:
                    return value
        return None

    @property
    def is_logged_in(self) -> bool:
        return bool(self._claims.get("sub"))

    @property
    def is_machine(self) -> bool:
        """True for a machine client verified by its bearer token; False for a person the ALB signed in."""
        return self._machine

    @property
    def client_id(self) -> str | None:
        """A machine client's id: its token's ``client_id``, ``azp`` or ``cid``; None for a person."""
        if not self._machine:
            return None
        for name in ("client_id", "azp", "cid"):
            value = self._claims.get(name)
            if isinstance(value, str) and value:
                return value
        return None

    @property
    def sub(self) -> str | None:
        return self._claims.get("sub")

    @property
    def email(self) -> str | None:
        return self._first("email")

    @property
    def name(self) -> str | None:
        """``name``; else given and family name; else Auth0's ``nickname``."""
        full = self._first("name")
        if full:
            return full
        parts = [self._first("given_name"), self._first("family_name")]
        return " ".join(part for part in parts if part) or self._first("nickname")

    @property
    def username(self) -> str | None:
        """Cognito's ``username``, ``cognito:username``, ``preferred_username``, or Auth0's ``nickname``."""
        return self._first("username", "cognito:username", "preferred_username", "nickname")

    @property
    def picture(self) -> str | None:
        return self._first("picture")

    @property
    def issuer(self) -> str | None:
        """Who signed the user in (the token header's ``iss``, which the ALB always sends)."""
        value = self._header.get("iss") or self._claims.get("iss")
        return value if isinstance(value, str) else None

    @property
    def idp(self) -> str | None:
        """A short name for the issuer: cognito, entra, google, auth0, okta, keycloak, else its host."""
        issuer = self.issuer
        if not issuer:
            return None
        parts = urlsplit(issuer)
        host = (parts.hostname or "").lower()
        if "/realms/" in parts.path:
            return "keycloak"
        for suffix, name in _IDP_BY_HOST_SUFFIX:
            if host == suffix.lstrip(".") or host.endswith(suffix):
                cognito = host.startswith(("cognito-idp.", "issuer-cognito-idp."))  # both issuer formats
                return name if name != "cognito" or cognito else host
        return host or None

    @property
    def groups(self) -> tuple[str, ...]:
        return self._groups

    @property
    def claims(self) -> Mapping[str, Any]:
        """The verified ``x-amzn-oidc-data`` payload."""
        return self._claims

    @property
    def access_token_claims(self) -> Mapping[str, Any]:
        """The verified access token's claims; empty when it was not (or could not be) verified."""
        return self._access_token_claims

    @property
    def userinfo(self) -> Mapping[str, Any]:
        """The IdP's userinfo answer for this user, when it was asked; otherwise empty."""
        return self._userinfo

    @property
    def problem(self) -> str | None:
        """Why nobody is logged in, when a check failed (safe to show; never a token or a setting's value)."""
        return self._problem

    def __getitem__(self, key: str) -> Any:
        if key == "is_logged_in":
            return self.is_logged_in
        return self._claims[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._claims[key]
        except KeyError:
            raise AttributeError(f'AlbUser has no attribute "{key}".') from None

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("AlbUser is read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("AlbUser is read-only")

    def __iter__(self) -> Iterator[str]:
        yield "is_logged_in"
        yield from (key for key in self._claims if key != "is_logged_in")

    def __len__(self) -> int:
        return 1 + sum(1 for key in self._claims if key != "is_logged_in")

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Copy and pickle by the constructor (its fields are read-only, so never set one by one)."""
        fields = {
            "access_token_claims": dict(self._access_token_claims),
            "userinfo": dict(self._userinfo),
            "groups": self._groups,
            "header": dict(self._header),
            "problem": self._problem,
            "machine": self._machine,
        }
        return (dict(self._claims),), fields

    def __getstate__(self) -> None:
        return None  # everything is in __getnewargs_ex__

    def to_dict(self) -> dict[str, Any]:
        return dict(self.items())

    def __repr__(self) -> str:
        if not self.is_logged_in:
            return "AlbUser(is_logged_in=False)"
        if self._machine:
            return f"AlbUser(sub={self.sub!r}, client_id={self.client_id!r}, groups={self.groups!r}, machine)"
        return f"AlbUser(sub={self.sub!r}, email={self.email!r}, groups={self.groups!r})"


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """``claims[path]`` if present (names may contain dots, like Auth0's URL claims), else a dotted walk."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def groups_in(claims: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
    """The groups at ``path``: a string is one group, a list keeps its strings; ``None`` if absent."""
    value = claim_at(claims, path)
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def as_groups(result: Iterable[str] | str) -> tuple[str, ...]:
    """A ``groups_provider`` result as groups: a string is one group; anything but strings is refused,
    and so is more than ``MAX_PROVIDED_GROUPS`` groups (an endless generator must not hang the page)."""
    if isinstance(result, Mapping):  # {"admin": False} would otherwise grant "admin"
        raise TypeError("groups_provider must return strings, not a mapping")
    groups = (
        (result,) if isinstance(result, str) else tuple(itertools.islice(result, MAX_PROVIDED_GROUPS + 1))
    )
    if len(groups) > MAX_PROVIDED_GROUPS:
        raise ValueError(f"groups_provider returned more than {MAX_PROVIDED_GROUPS} groups")
    if not all(isinstance(group, str) for group in groups):
        raise TypeError("groups_provider must return strings")
    return groups


def encode_groups(groups: tuple[str, ...]) -> str:
    """``groups`` as ``st.user.groups`` carries them: comma-separated, each group's ``%`` and ``,``
    percent-encoded, so no group name can pass for two and a split on commas is exact."""
    return ",".join(group.replace("%", "%25").replace(",", "%2C") for group in groups)


def decode_groups(value: object) -> tuple[str, ...]:
    """The groups ``encode_groups`` wrote (``()`` for anything but a non-empty string)."""
    if not isinstance(value, str) or not value:
        return ()
    return tuple(unquote(group) for group in value.split(","))


__all__ = [
    "MAX_PROVIDED_GROUPS",
    "AlbUser",
    "as_groups",
    "claim_at",
    "decode_groups",
    "encode_groups",
    "groups_in",
]
