"""HTTP clients for calls out of Fleetward, held to the outbound policy.

Every connection goes through `_PolicyBackend`: the host is resolved, each
address is checked by domain/outbound.py's policy, and only a permitted address
is dialled (TLS still verifies the name). Checking at connect time, on the
address actually used, is what stops a name that resolves inward, whatever it
resolved to when the URL was saved. Proxies from the environment are ignored
and redirects are not followed, as either would route around the check.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import anyio
import httpcore
import httpx

from fleetward.domain.forwarding import IPNetwork
from fleetward.domain.outbound import refusal

DEFAULT_TIMEOUT_S = 10.0


class OutboundRefused(Exception):
    """The policy refused every address the host resolved to."""


class _PolicyBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, allowed: Sequence[IPNetwork]) -> None:
        self._allowed = tuple(allowed)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as error:
            raise httpcore.ConnectError(f"{host}: {error}") from error
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        reasons = [refusal(address, self._allowed) for address in addresses]
        permitted = [a for a, why in zip(addresses, reasons, strict=True) if why is None]
        if not permitted:
            raise OutboundRefused(f"{host}: {next(r for r in reasons if r)}")
        last: Exception | None = None
        for address in permitted:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                last = error
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("unix sockets are not reachable from outbound calls")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class OutboundHttp:
    """Makes httpx clients whose every connection obeys the outbound policy."""

    def __init__(self, allowed: Sequence[IPNetwork], timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.allowed = tuple(allowed)
        self.timeout = timeout

    def client(self, timeout: float | None = None) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(retries=0)
        # httpx takes no network backend of its own, so its pool is rebuilt with ours;
        # tests/integration/test_outbound.py fails if this stops taking effect.
        pool = transport._pool
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=pool._ssl_context,
            max_connections=pool._max_connections,
            max_keepalive_connections=pool._max_keepalive_connections,
            keepalive_expiry=pool._keepalive_expiry,
            network_backend=_PolicyBackend(self.allowed),
        )
        return httpx.AsyncClient(
            transport=transport,
            timeout=timeout or self.timeout,
            follow_redirects=False,
            trust_env=False,
        )


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    """The response's Retry-After in seconds (a number or an HTTP date), if it has one."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (at - (now or datetime.now(UTC))).total_seconds())
