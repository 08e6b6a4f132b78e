"""Which webhook targets a provider may be told to call: ``[webhooks] allow_private_urls`` (default false).

A provider calls a webhook's URL from its own network, and some call it at once (a test delivery, a ping): a
target on a loopback, link-local, private, unique-local or unspecified address reaches whatever listens there
(cloud metadata at 169.254.169.254, a Redis on 127.0.0.1:6379), so such targets are refused unless the
configuration allows them.

The host is judged as written, the way URL parsers read it: every notation of an IP address that Python's
``ipaddress`` or a WHATWG URL parser (browsers, Node, most HTTP clients) accepts counts (decimal ``2130706433``,
octal ``0177.1``, hex ``0x7f.1``, IPv4-mapped IPv6 ``[::ffff:7f00:1]``, percent-encoded or full-width digits, a
trailing dot), and so does ``localhost``. Names are **not** resolved: a DNS name that points at a private address
is accepted, since the gateway cannot know what the provider's resolver will answer when it calls.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import unquote, urlsplit

#: NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: Characters no URL we forward may contain: a backslash is a slash to WHATWG parsers but not to urlsplit, so
#: ``http://127.0.0.1\@example.com/`` would be judged by one host and called at the other.
_FORBIDDEN = re.compile(r"[\\\x00-\x20\x7f]")
#: Dots as IDNA maps them (ideographic and full-width full stops).
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _ipv4_number(part: str) -> int | None:
    """One dotted part as WHATWG reads it: decimal, ``0x`` hex, or octal with a leading zero."""
    if part.startswith(("0x", "0X")):
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if len(digits) > 32 or not digits.isascii():
        return None
    if digits == "":
        return 0 if base == 16 else None
    try:
        return int(digits, base)
    except ValueError:
        return None


def _ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host written with 1 to 4 numeric parts means (``127.1``, ``2130706433``), else None."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a trailing dot
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _ipv4(host)


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and _is_private(embedded):
            return True
    # Not global: loopback, link-local, private, unique-local, unspecified, shared (100.64/10), reserved ranges.
    return not address.is_global or address.is_multicast


def refusal(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` may not be a webhook target (a sentence for the caller), or None when it may."""
    if _FORBIDDEN.search(url):
        return "url must not contain spaces, control characters or backslashes"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number or out of range
    except ValueError:
        return "url is not a valid URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "url must be an absolute http or https URL"
    if allow_private:
        return None
    host = unicodedata.normalize("NFKC", unquote(parts.hostname)).translate(_DOTS).lower()
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return "url must not point at a loopback, link-local or private address ([webhooks] allow_private_urls)"
    address = _address(host)
    if address is None and "%" in host:  # an IPv6 zone id ("fe80::1%eth0") that this Python cannot parse
        address = _address(host.partition("%")[0])
    if address is not None and _is_private(address):
        return "url must not point at a loopback, link-local or private address ([webhooks] allow_private_urls)"
    return None
