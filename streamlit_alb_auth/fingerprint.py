"""What a stored user was verified for: one SHA-256 over the header values, the settings and the groups
provider's identity. ``session`` keeps it beside the user (never a token), and a rerun whose digest
matches reads the stored user instead of verifying again. Pure Python, no Streamlit.
"""

from __future__ import annotations

import functools
import hashlib
import types
import uuid

from streamlit_alb_auth.authenticate import GroupsProvider
from streamlit_alb_auth.config import AlbAuthSettings

__all__ = ["provider_identity", "verified_for"]


def verified_for(
    values: tuple[str, str, str], settings: AlbAuthSettings, groups_provider: GroupsProvider | None
) -> str:
    """What a stored user was verified for, as a SHA-256 hex digest: the header values (so no token is
    kept), the settings and the groups provider's identity (``provider_identity``)."""
    digest = hashlib.sha256()
    for part in (*values, repr(settings), provider_identity(groups_provider)):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def provider_identity(provider: object) -> str:
    """Which groups provider this is, the same across reruns: the one place that decides it.

    A function is its module-qualified name and file (a lambda: also its line), its code, its closure
    values and defaults, so the same function redefined by every rerun is the same provider while two pages'
    ``groups`` functions, two partials or two lambdas never are. Anything else (a bound method, an
    object, a closure value that cannot be written out) is a provider never seen before, so the user is
    verified again: a mistaken "same" would hand one provider's groups to another's page.
    """
    if provider is None:
        return ""
    try:
        return _identity_of(provider)
    except Exception:  # a closure value whose repr fails: never the same as anything
        return f"unknown:{uuid.uuid4()}"


def _identity_of(provider: object) -> str:
    if isinstance(provider, functools.partial):
        keywords = sorted(provider.keywords.items())
        return f"partial({_identity_of(provider.func)}, {provider.args!r}, {keywords!r})"
    if not isinstance(provider, types.FunctionType):
        return f"unknown:{uuid.uuid4()}"
    code = provider.__code__
    place = f"{code.co_filename}:{code.co_firstlineno}" if code.co_name == "<lambda>" else code.co_filename
    cells = tuple(cell.cell_contents for cell in provider.__closure__ or ())
    defaults = (provider.__defaults__, sorted((provider.__kwdefaults__ or {}).items()))
    name = f"{provider.__module__}.{provider.__qualname__}@{place}"
    return f"{name} {_code_of(code)} {cells!r} {defaults!r}"


def _code_of(code: types.CodeType) -> str:
    """The body itself (two lambdas on one line differ), the same for a redefinition by a rerun."""
    parts = (_code_of(item) if isinstance(item, types.CodeType) else repr(item) for item in code.co_consts)
    return hashlib.sha256(code.co_code + repr(tuple(parts)).encode()).hexdigest()
