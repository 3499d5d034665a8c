"""What every provider's API client shares: one HTTP call with timeouts, bounded
retries and backoff, and ProviderApiError when it gives up.

A provider's API is called from background work (reconciliation, outbound
resets), never while a person waits, so a failure is raised as ProviderApiError
for the caller to record; it never reaches anyone as an error of theirs.

Retried: 429 and 5xx answers and connection failures (including timeouts), up to
`max_attempts` calls in all, waiting `base_delay * 2**n` between them, or what
the answer's Retry-After asks for. A Retry-After longer than `max_delay` is not
slept through: the error carries it so the caller's job can come back later.
Not retried: any other 4xx (the request itself is wrong), and a connection the
outbound policy refused (FLEETWARD_OUTBOUND_ALLOW_CIDRS), which no retry changes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import structlog

from fleetward.adapters.outbound import OutboundRefused, retry_after_seconds
from fleetward.domain.errors import ProviderApiError

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
# Headers for the next attempt (a fresh token after a 401, say).
Headers = Callable[[], Awaitable[Mapping[str, str]]]

MAX_ATTEMPTS = 4
BASE_DELAY_S = 0.5
MAX_DELAY_S = 30.0
REQUEST_TIMEOUT_S = 20.0
# An RMM's whole alert list comes in one answer; past this it is refused, not read.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_EXCERPT = 200


def _retryable(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


class ApiClient:
    """Calls one provider's API at `base_url` through an outbound-policy client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        provider: str,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        base_delay: float = BASE_DELAY_S,
        max_delay: float = MAX_DELAY_S,
        timeout: float = REQUEST_TIMEOUT_S,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self.sleep = sleep

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Headers,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        on_unauthorized: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """The first answer that is neither retryable nor a 401 handled by
        `on_unauthorized` (called once, then the call is tried again at once)."""
        where = f"{self.provider} {method} {path}"
        reauthorized = False
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send(
                    method, path, await headers(), params, json_body, form, where
                )
            except OutboundRefused as refused:
                raise ProviderApiError(
                    f"{where}: refused by the outbound policy: {refused}"
                ) from None
            except httpx.TransportError as error:
                if attempt >= self.max_attempts:
                    raise ProviderApiError(
                        f"{where}: {type(error).__name__} after {attempt} attempts"
                    ) from None
                await self._wait(where, attempt, None, type(error).__name__)
                continue
            status = response.status_code
            if status == 401 and on_unauthorized is not None and not reauthorized:
                # An access token can expire early (revoked, server clock): one fresh try.
                reauthorized = True
                on_unauthorized()
                attempt -= 1
                continue
            if not _retryable(status):
                if status >= 400:
                    raise ProviderApiError(
                        f"{where}: HTTP {status}: {_excerpt(response)}", status_code=status
                    )
                return response
            retry_after = retry_after_seconds(response)
            if attempt >= self.max_attempts or (
                retry_after is not None and retry_after > self.max_delay
            ):
                raise ProviderApiError(
                    f"{where}: HTTP {status} after {attempt} attempts",
                    status_code=status,
                    retry_after=retry_after,
                )
            await self._wait(where, attempt, retry_after, f"HTTP {status}")

    async def json(
        self,
        method: str,
        path: str,
        *,
        headers: Headers,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        on_unauthorized: Callable[[], None] | None = None,
    ) -> Any:
        """request() and its JSON body."""
        response = await self.request(
            method,
            path,
            headers=headers,
            params=params,
            json_body=json_body,
            on_unauthorized=on_unauthorized,
        )
        return decode_json(response, f"{self.provider} {method} {path}")

    async def _send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
        where: str,
    ) -> httpx.Response:
        request = self.http.build_request(
            method,
            self.base_url + path,
            headers=dict(headers),
            params=dict(params) if params else None,
            json=json_body,
            data=dict(form) if form is not None else None,
            timeout=self.timeout,
        )
        response = await self.http.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise ProviderApiError(
                        f"{where}: answer larger than {MAX_RESPONSE_BYTES} bytes"
                    )
        finally:
            await response.aclose()
        return httpx.Response(
            response.status_code, headers=response.headers, content=bytes(body), request=request
        )

    async def _wait(self, where: str, attempt: int, retry_after: float | None, why: str) -> None:
        delay = retry_after if retry_after is not None else self.base_delay * 2 ** (attempt - 1)
        delay = min(delay, self.max_delay)
        log.info("provider_api_retry", call=where, attempt=attempt, reason=why, delay_s=delay)
        await self.sleep(delay)


def decode_json(response: httpx.Response, where: str) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise ProviderApiError(f"{where}: the answer is not JSON: {_excerpt(response)}") from None


def _excerpt(response: httpx.Response) -> str:
    text = response.content[:_EXCERPT].decode("utf-8", "replace")
    return " ".join(text.split()) or "(empty body)"
