from __future__ import annotations

import pytest
from pydantic import ValidationError

from fleetward.config import Settings
from fleetward.domain.forwarding import TrustedProxies

PROXIES = TrustedProxies.parse("10.0.0.0/8, 2001:db8::1")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # Not from a trusted proxy: the header is whatever the sender wrote.
        ("192.0.2.1", ["203.0.113.9"], "192.0.2.1"),
        ("testclient", ["203.0.113.9"], "testclient"),
        # From a trusted proxy: the address it appended.
        ("10.0.0.7", ["203.0.113.9"], "203.0.113.9"),
        ("2001:db8::1", ["203.0.113.9"], "203.0.113.9"),
        # Entries the client wrote itself, left of the proxy's, change nothing.
        ("10.0.0.7", ["198.51.100.1, 203.0.113.9"], "203.0.113.9"),
        ("10.0.0.7", ["198.51.100.1", "203.0.113.9"], "203.0.113.9"),
        # A chain of trusted proxies is walked back to the first address outside it.
        ("10.0.0.7", ["203.0.113.9, 10.1.1.1, 10.2.2.2"], "203.0.113.9"),
        # Every hop trusted: the client is itself inside; the leftmost address.
        ("10.0.0.7", ["10.9.9.9, 10.1.1.1"], "10.9.9.9"),
        # Ports and bracketed IPv6, as some proxies write them.
        ("10.0.0.7", ["203.0.113.9:5123"], "203.0.113.9"),
        ("10.0.0.7", ["[2001:db8::55]:443"], "2001:db8::55"),
        ("10.0.0.7", ["2001:db8::55"], "2001:db8::55"),
        # No header, or text that is no address: the last trusted hop is all we know.
        ("10.0.0.7", [], "10.0.0.7"),
        ("10.0.0.7", [""], "10.0.0.7"),
        ("10.0.0.7", ["<script>, 10.1.1.1"], "10.1.1.1"),
        ("10.0.0.7", ["x" * 10_000], "10.0.0.7"),
    ],
)
def test_the_client_address_is_believed_only_from_trusted_proxies(
    peer: str, forwarded_for: list[str], client: str
) -> None:
    assert PROXIES.client_address(peer, forwarded_for) == client


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings().forwarded_allow_ips == ""
    nobody = TrustedProxies.parse("")
    assert nobody.client_address("127.0.0.1", ["203.0.113.9"]) == "127.0.0.1"


def test_the_proxy_setting_must_be_addresses_and_networks() -> None:
    assert Settings(forwarded_allow_ips=" 10.0.0.5, 172.16.0.0/12 ").forwarded_allow_ips == (
        "10.0.0.5/32,172.16.0.0/12"
    )
    for bad in ("proxy.internal", "10.0.0.5/8", "*"):
        with pytest.raises(ValidationError, match="is not an IP address or network"):
            Settings(forwarded_allow_ips=bad)
