"""The people you can sign in as on the fake hosted UI, and how ``--user`` spells them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

_EMAIL = re.compile(r"[^@\s:,]+@[^@\s:,]+")
_GROUP = re.compile(r"[\w+=.@-]{1,128}")
_SUB_NAMESPACE = uuid.UUID("5b1f6f0e-6a43-4d5e-9a83-0c7fb4f0d2a1")


@dataclass(frozen=True)
class DevUser:
    """One user of the local pool; ``sub`` is derived from the email so it is stable across runs."""

    email: str
    groups: tuple[str, ...] = ()

    @property
    def sub(self) -> str:
        return str(uuid.uuid5(_SUB_NAMESPACE, self.email.lower()))

    @property
    def username(self) -> str:
        return self.email.split("@", 1)[0]


DEFAULT_USERS = (
    DevUser("admin@example.com", ("admin",)),
    DevUser("user@example.com"),
)


def parse_user(spec: str) -> DevUser:
    """``EMAIL`` or ``EMAIL:GROUP,GROUP``: the form of the ``--user`` flag."""
    email, _, groups_text = spec.strip().partition(":")
    if not _EMAIL.fullmatch(email):
        raise ValueError(f"{email!r} is not an email address (use EMAIL or EMAIL:GROUP,GROUP)")
    groups = tuple(group for group in (g.strip() for g in groups_text.split(",")) if group)
    for group in groups:
        if not _GROUP.fullmatch(group):
            raise ValueError(f"{group!r} is not a Cognito group name")
    return DevUser(email, groups)


def offered_users(specs: list[str] | tuple[str, ...], *, defaults: bool = True) -> tuple[DevUser, ...]:
    """The sign-in page's users: the defaults (unless ``defaults=False``) plus one per ``--user`` spec.

    A spec for an email already offered replaces that user (so ``--user admin@example.com:admin,ops``
    changes the default admin's groups), keeping its place in the list.
    """
    users = {user.email.lower(): user for user in (DEFAULT_USERS if defaults else ())}
    for spec in specs:
        user = parse_user(spec)
        users[user.email.lower()] = user
    if not users:
        raise ValueError("no users to sign in as: --no-default-users needs at least one --user")
    return tuple(users.values())
