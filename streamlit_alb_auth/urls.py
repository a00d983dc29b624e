"""URLs the package will fetch, read strictly: ``fetch.Fetcher`` connects to exactly what this parser reads.

Standard library only; no Streamlit import.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from streamlit_alb_auth.errors import ConfigurationError

# RFC 3986 characters only: no backslash, whitespace, control characters, quotes or non-ASCII.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class FetchTarget:
    """A URL as the fetcher reads it: what it checks is what it connects to."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent on the request line

    @property
    def where(self) -> str:
        """Scheme, host, port and path (no query): safe to log."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.target.split('?', 1)[0]}"


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_fetch_url(url: str, what: str = "URL") -> FetchTarget:
    """Read ``url`` strictly, or raise ``ConfigurationError`` naming ``what`` (never echoing the URL).

    Refused: anything but ``https://`` (``http://`` only to loopback), userinfo (``user:pass@``), a
    fragment, backslashes, whitespace, control and non-ASCII characters, an empty or malformed host, a
    port outside 1-65535.

    Examples
    --------
    >>> parse_fetch_url("https://keys.example.com/a/b?x=1").host
    'keys.example.com'
    """
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"{what} must be a non-empty string")
    if not _URL_CHARACTERS.fullmatch(url):
        raise ConfigurationError(
            f"{what} contains a character a URL may not (backslash, whitespace, control or non-ASCII)"
        )
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in ("https", "http"):
        raise ConfigurationError(f"{what} must be an https:// URL")
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, target = rest[:end], rest[end:]
    if "@" in authority:
        raise ConfigurationError(f"{what} must not contain a user name or password (user@host)")
    if "#" in target:
        raise ConfigurationError(f"{what} must not contain a fragment (#)")
    host, port = _split_authority(authority, scheme, what)
    if scheme == "http" and not is_loopback_host(host):
        raise ConfigurationError(f"{what} must be https:// (plain http:// is allowed only on loopback)")
    if not target.startswith("/"):
        target = "/" + target
    return FetchTarget(url, scheme, host, port, target)


def require_url_text(url: str, what: str = "URL") -> str:
    """``url`` unchanged if it has only URL characters (for URLs compared, not fetched, such as an issuer)."""
    if not isinstance(url, str) or not _URL_CHARACTERS.fullmatch(url):
        raise ConfigurationError(
            f"{what} contains a character a URL may not (backslash, whitespace, control or non-ASCII)"
        )
    return url


def require_fetchable_url(url: str, what: str = "URL") -> str:
    """``url`` unchanged if ``parse_fetch_url`` accepts it; ``ConfigurationError`` otherwise."""
    parse_fetch_url(url, what)
    return url


def _split_authority(authority: str, scheme: str, what: str) -> tuple[str, int]:
    default_port = 443 if scheme == "https" else 80
    if authority.startswith("["):
        inside, bracket, after = authority[1:].partition("]")
        try:
            host = str(ipaddress.IPv6Address(inside)) if bracket else ""
        except ValueError:
            host = ""
        port_text = after[1:] if after.startswith(":") else None
        if not host or (after and port_text is None):
            raise ConfigurationError(f"{what} has a malformed IPv6 host")
    else:
        host, colon, port_text_or_empty = authority.partition(":")
        port_text = port_text_or_empty if colon else None
        host = _checked_host(host.lower(), what)
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"{what} has a malformed port")
    return host, int(port_text)


def _checked_host(host: str, what: str) -> str:
    if re.fullmatch(r"[0-9.]+", host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise ConfigurationError(f"{what} has a malformed IPv4 host") from None
    labels = host.split(".")
    if (
        len(host) > 253
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()  # resolvers read 0x7f.1 and kin as addresses; no real TLD is numeric
    ):
        raise ConfigurationError(f"{what} has a malformed host name")
    return host
