"""Where Fleetward may call out to: one policy for every URL a tenant supplies.

Webhook subscriptions, chat webhooks and providers' api_base_url are typed in by
tenants, and a server that fetches whatever it is told can be turned against
its own network. So: http(s) only, no credentials in the URL, and no private,
loopback, link-local or otherwise special address unless the operator listed
it in FLEETWARD_OUTBOUND_ALLOW_CIDRS. The URL is checked when it is saved; the
address is checked again on every connection, on what the name resolves to then
(adapters/outbound.py), so a name that later points inward is still refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from fleetward.domain.errors import InvalidInput
from fleetward.domain.forwarding import IPNetwork

MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_url(url: object, field: str) -> str:
    """The URL if its form is one Fleetward may call; InvalidInput naming `field` if not."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"{field} must be an http(s) URL", field=field)
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"{field} is longer than {MAX_URL_LENGTH} characters", field=field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidInput(f"{field} is not a URL: {error}", field=field) from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(f"{field} must be an http(s) URL", field=field)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            f"{field} must not carry credentials; use the integration's credentials",
            field=field,
        )
    if not parts.hostname:
        raise InvalidInput(f"{field} has no host", field=field)
    if port == 0:
        raise InvalidInput(f"{field} has no usable port", field=field)
    return url


def refusal(address: str, allowed: Sequence[IPNetwork]) -> str | None:
    """Why a connection to `address` is refused, or None when it may go ahead."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed):
        return None
    if not ip.is_global or ip.is_multicast:
        return (
            f"{ip} is a private, loopback, link-local or reserved address; "
            "list it in FLEETWARD_OUTBOUND_ALLOW_CIDRS to allow it"
        )
    return None
