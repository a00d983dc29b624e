"""A Cognito user pool's names: the pool id's syntax and the two issuer URLs a pool signs with.

Cognito's API reference (``IssuerConfigurationType``) gives a pool one of two issuer formats:
ORIGINAL, ``https://cognito-idp.REGION.amazonaws.com/POOL``, and UPDATED,
``https://issuer-cognito-idp.REGION.amazonaws.com/POOL`` ("recommended for all user pools", and needed
for multi-Region replication). Each serves its keys at ``{issuer}/.well-known/jwks.json``. Which one a
pool uses is its setting, not something a token reader can know in advance, so both are accepted for
the configured pool, and nothing else. A leaf: no import from the rest of the package but its errors.
"""

from __future__ import annotations

import re

from streamlit_alb_auth.errors import ConfigurationError

# ASCII only: ``\d`` would also match Arabic-Indic and other Unicode digits.
USER_POOL_ID_PATTERN = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]+)_[0-9A-Za-z]+")
ORIGINAL_HOST, UPDATED_HOST = "cognito-idp", "issuer-cognito-idp"
_ISSUER = re.compile(
    r"https://(?:issuer-)?cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<pool>[^/]+)"
)


def user_pool_issuers(user_pool_id: str) -> tuple[str, str]:
    """Both issuer URLs of a user pool (``REGION_ID``): ``(original, updated)``."""
    match = USER_POOL_ID_PATTERN.fullmatch(user_pool_id) if isinstance(user_pool_id, str) else None
    if match is None:
        raise ConfigurationError("not a Cognito user pool id (REGION_ID)", setting="user_pool_id")
    region = match["region"]
    original = f"https://{ORIGINAL_HOST}.{region}.amazonaws.com/{user_pool_id}"
    updated = f"https://{UPDATED_HOST}.{region}.amazonaws.com/{user_pool_id}"
    return original, updated


def user_pool_issuer(user_pool_id: str, *, updated: bool = False) -> str:
    """A user pool's original issuer URL, or with ``updated`` its ``issuer-cognito-idp`` one."""
    return user_pool_issuers(user_pool_id)[1 if updated else 0]


def issuer_aliases(issuer: str) -> tuple[str, ...]:
    """``issuer`` and, when it is a user pool's issuer in either format, that pool's other one.

    Only the same pool in its own region: another pool, a pool id of another region, or any other host
    is no alias (``issuer`` alone comes back).
    """
    match = _ISSUER.fullmatch(issuer) if isinstance(issuer, str) else None
    pool = match and USER_POOL_ID_PATTERN.fullmatch(match["pool"])
    if not match or not pool or pool["region"] != match["region"]:
        return (issuer,)
    return user_pool_issuers(match["pool"])


__all__ = ["USER_POOL_ID_PATTERN", "issuer_aliases", "user_pool_issuer", "user_pool_issuers"]
