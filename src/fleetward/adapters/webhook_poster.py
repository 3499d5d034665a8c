"""POSTs webhook deliveries through the outbound policy (adapters/outbound.py)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from fleetward.adapters.outbound import OutboundHttp, OutboundRefused, retry_after_seconds
from fleetward.domain.webhook_events import DeliveryResult

# A receiver's answer is not read: its status and Retry-After are all that count,
# so a receiver answering gigabytes costs nothing.
TIMEOUT_S = 10.0


class OutboundPoster:
    def __init__(self, http: OutboundHttp) -> None:
        self.http = http

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> DeliveryResult:
        try:
            async with (
                self.http.client(TIMEOUT_S) as client,
                client.stream("POST", url, content=body, headers=dict(headers)) as response,
            ):
                return DeliveryResult(response.status_code, retry_after_seconds(response))
        except OutboundRefused as refused:
            return DeliveryResult(
                None, error=f"refused by the outbound policy: {refused}", refused=True
            )
        except httpx.HTTPError as error:
            return DeliveryResult(None, error=f"{type(error).__name__}: {error}"[:500])
