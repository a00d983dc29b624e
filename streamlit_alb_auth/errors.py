"""One exception tree: callers catch ``AlbAuthError``, tests and logs name the precise subclass.

Messages say what failed and never contain the token itself, so they are safe to log.
"""

from __future__ import annotations


class AlbAuthError(Exception):
    """Base class: the request does not carry an identity this package will trust."""


class ConfigurationError(AlbAuthError):
    """The package is not configured well enough to trust anything (for example, no ALB ARN).

    ``setting`` names the setting at fault, when one is: safe to show, unlike the message, which may
    quote where a value came from and goes to the server log.
    """

    def __init__(self, message: str = "", *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class UnsafeLogoutPathError(ConfigurationError, ValueError):
    """The logout path could leave the app's origin (or is not a plain URL path at all)."""


class MissingHeaderError(AlbAuthError):
    """The ALB's ``x-amzn-oidc-*`` headers are absent (the request did not come through the ALB), or on a
    path open to machine clients, so is ``Authorization: Bearer``."""


class MalformedTokenError(AlbAuthError):
    """The token is not well formed: for the ALB's data token, three strictly padded base64url segments
    of JSON, JSON and a 64-byte signature; for a bearer token, a compact JWS with the required claims."""


class TokenTooLargeError(MalformedTokenError):
    """The token is longer than the configured cap; it is rejected before it is parsed."""


class UnsupportedAlgorithmError(AlbAuthError):
    """The header's ``alg`` is not the one allowed: ``ES256`` for the ALB's data token (the only one the
    ALB uses), ``RS256`` for a bearer token (the only one the ALB's ``jwt-validation`` checks)."""


class InvalidKidError(AlbAuthError):
    """The header's ``kid`` is not a UUID, so it can never name an ALB key (and never reaches a URL)."""


class SignerNotAllowedError(AlbAuthError):
    """The header's ``signer`` is not one of the configured ALB ARNs: another ALB minted this token."""


class ClientMismatchError(AlbAuthError):
    """The token is for another client: the data token header's ``client`` is not the configured
    ``client_id``, or a bearer token's ``aud``/``client_id``/``azp``/``cid`` is not ``bearer_audience``."""


class IssuerMismatchError(AlbAuthError):
    """The token's ``iss`` is not the configured issuer (``issuer``, or ``bearer_issuer``)."""


class InvalidSignatureError(AlbAuthError):
    """The signature does not verify with the key for this ``kid`` (the ALB's, or the bearer issuer's)."""


class TokenExpiredError(AlbAuthError):
    """``exp`` (in the header or the payload) is in the past, beyond the leeway."""


class TokenNotYetValidError(AlbAuthError):
    """``nbf`` or ``iat`` is in the future, beyond the leeway."""


class IdentityMismatchError(AlbAuthError):
    """``x-amzn-oidc-identity`` is not the verified ``sub``: the unsigned headers were tampered with."""


class FetchError(AlbAuthError):
    """An outbound fetch (ALB key, JWKS, discovery, userinfo) did not give a usable answer.

    ``what`` names the fetch ("key server", "OIDC metadata", "userinfo", ...): one tree for every
    fetch, so a caller catches ``FetchError`` (or one subclass) and a log line still says which failed.
    """

    def __init__(self, message: str = "", *, what: str | None = None) -> None:
        super().__init__(message)
        self.what = what


class FetchUnavailableError(FetchError):
    """The server refused or dropped the connection, or TLS failed."""


class FetchTimeoutError(FetchError):
    """The server did not send its whole answer before the fetch's deadline."""


class FetchResponseError(FetchError):
    """The server answered with a status other than 200 (a redirect is never followed) or broken HTTP."""


class FetchTooLargeError(FetchError):
    """The answer is over the fetch's size cap (declared or streamed)."""


class FetchRateLimitedError(FetchError):
    """Too many fetches in the last minute; this one was not sent."""


class InvalidPublicKeyError(FetchError):
    """The key server answered, but not with a PEM P-256 public key."""


class AccessTokenError(AlbAuthError):
    """``x-amzn-oidc-accesstoken`` did not verify against the identity provider's JWKS; or the JWKS
    itself could not be had (for a bearer token too), or has no key for the token's ``kid``."""


class UserinfoError(AccessTokenError):
    """The identity provider's userinfo endpoint did not vouch for the signed-in user."""


def log_safe(value: object, limit: int = 500) -> str:
    """``str(value)`` fit for one log line: anything but printable ASCII escaped, at most ``limit`` long.

    Error messages quote attacker-chosen text (a ``kid``, a claim) with ``repr``; this is the second
    guard, applied where anything is logged, so no input can start a forged log line.

    Examples
    --------
    >>> log_safe("kid\nFORGED line")
    'kid\\nFORGED line'
    """
    try:
        text = str(value)
    except Exception:  # an exception whose message itself fails (the app's own groups_provider, say)
        text = f"({type(value).__name__} with a message that could not be read)"
    if len(text) > limit:
        text = text[:limit] + "..."
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        char if " " <= char <= "~" else char.encode("unicode_escape").decode("ascii") for char in text
    )


# One release of grace for the names of the old mirror tree (``KeyFetch*`` beside ``Fetch*``): each is now
# the ``Fetch*`` class itself, with ``what="key server"``.
_DEPRECATED_ALIASES = {
    "KeyFetchError": FetchError,
    "KeyServerUnavailableError": FetchUnavailableError,
    "KeyFetchTimeoutError": FetchTimeoutError,
    "KeyServerResponseError": FetchResponseError,
    "KeyTooLargeError": FetchTooLargeError,
    "KeyFetchRateLimitedError": FetchRateLimitedError,
}


def __getattr__(name: str) -> type[FetchError]:
    replacement = _DEPRECATED_ALIASES.get(name)
    if replacement is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    warnings.warn(
        f"{name} is deprecated: catch {replacement.__name__} (its `what` says which fetch failed)",
        DeprecationWarning,
        stacklevel=2,
    )
    return replacement


__all__ = [
    "AccessTokenError",
    "AlbAuthError",
    "ClientMismatchError",
    "ConfigurationError",
    "FetchError",
    "FetchRateLimitedError",
    "FetchResponseError",
    "FetchTimeoutError",
    "FetchTooLargeError",
    "FetchUnavailableError",
    "IdentityMismatchError",
    "InvalidKidError",
    "InvalidPublicKeyError",
    "InvalidSignatureError",
    "IssuerMismatchError",
    "MalformedTokenError",
    "MissingHeaderError",
    "SignerNotAllowedError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenTooLargeError",
    "UnsafeLogoutPathError",
    "UnsupportedAlgorithmError",
    "UserinfoError",
]
