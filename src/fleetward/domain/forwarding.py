"""Which address a request came from, given the proxies trusted to say so.

X-Forwarded-For is written by whoever sends the request, so it is believed only
from a trusted proxy, and only as far back as the chain of trusted proxies
goes: each proxy appends the address it was connected from, so reading from the
right, the first address that is not a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated IPs and CIDRs ("10.0.0.1, 172.16.0.0/12"); ValueError names the bad one."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IP address or network: {exc}") from None
    return tuple(networks)


def _address(text: str) -> IPAddress | None:
    """An IP from a forwarded entry: bare, "1.2.3.4:port" or "[v6]:port"."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        return cls(parse_networks(text))

    def trusts(self, address: IPAddress | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client_address(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client's address: the peer's own, unless the peer is a trusted proxy.

        An entry that is not an IP (only a broken proxy appends one) ends the walk
        at the last trusted hop, so a sender can never put text of its choosing here.
        """
        hop = _address(peer)
        if not self.trusts(hop):
            return peer
        entries = [entry for header in forwarded_for for entry in header.split(",")]
        for entry in reversed(entries):
            hop = _address(entry)
            if hop is None:
                break
            if not self.trusts(hop):
                return str(hop)
            peer = str(hop)
        return peer
