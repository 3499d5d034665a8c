"""Chat copies: a JSON POST to the user's Slack, Teams or Discord incoming webhook.

The URL is one a tenant supplied, so the call goes through OutboundHttp and its
policy. 429 and 5xx answers and network errors are retried (honouring
Retry-After); another 4xx means the webhook refuses this request as such (a
revoked webhook answers 404 or 410) and is not retried.
"""

from __future__ import annotations

import httpx

from fleetward.adapters.outbound import OutboundHttp, OutboundRefused, retry_after_seconds
from fleetward.domain.jobs import JobFailed

TIMEOUT_S = 10.0


class ChatWebhooks:
    def __init__(self, outbound: OutboundHttp) -> None:
        self.outbound = outbound

    async def post(self, url: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "Fleetward"}
        try:
            async with self.outbound.client(TIMEOUT_S) as client:
                response = await client.post(url, content=body, headers=headers)
        except OutboundRefused as error:
            raise JobFailed(f"refused by the outbound policy: {error}", permanent=True) from None
        except httpx.HTTPError as error:
            raise JobFailed(f"chat webhook: {type(error).__name__}: {error}") from None
        status = response.status_code
        if status < 300:
            return
        answer = response.text[:200]
        raise JobFailed(
            f"chat webhook answered {status}: {answer}",
            status_code=status,
            retry_after=retry_after_seconds(response),
            permanent=status < 500 and status != 429,
        )
