"""Pure ASGI middleware: body size limit, request metrics and access log."""

from __future__ import annotations

import os
import time
from typing import Any

import orjson
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleetward.entrypoints.http.errors import error_body


class _TooLarge(HTTPException):
    """Raised from receive() when a streamed body passes the limit.

    An HTTPException, because FastAPI turns any other error met while reading
    the body into "400 error parsing the body"; this one it lets through to
    the error handlers, which answer 413.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413, f"request body is larger than {max_bytes} bytes", {"Connection": "close"}
        )


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodySizeLimit:
    """Refuse bodies over the limit with 413, by header or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await _send_json(send, 400, error_body("bad_request", "bad Content-Length"))
                return
            if too_large:
                await _send_json(send, 413, self._too_large())
                return
            if not chunked:
                # The server reads exactly Content-Length bytes: nothing to count.
                await self.app(scope, receive, send)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, self._too_large())

    def _too_large(self) -> dict[str, Any]:
        return error_body("too_large", f"request body is larger than {self.max_bytes} bytes")


class RequestMetrics:
    """Counts and times requests by route template, and writes one access-log line."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.log = structlog.get_logger("fleetward.access")
        self.requests = Counter(
            "fleetward_http_requests",
            "HTTP requests handled",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "fleetward_http_request_seconds",
            "HTTP request handling time",
            ["method", "route"],
            registry=registry,
        )
        # Each label set's child, looked up once: labels() takes a lock and
        # checks its arguments on every call, a tenth of a fast request.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        request_id = os.urandom(8).hex()  # 64 random bits, as uuid4().hex[:16] gave

        async def send_wrapper(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
                msg.setdefault("headers", [])
                msg["headers"] = [*msg["headers"], (b"x-request-id", request_id.encode())]
            await send(msg)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            counted = self._counted.get((method, route, status))
            if counted is None:
                counted = self._counted.setdefault(
                    (method, route, status), self.requests.labels(method, route, str(status))
                )
            timed = self._timed.get((method, route))
            if timed is None:
                timed = self._timed.setdefault((method, route), self.latency.labels(method, route))
            counted.inc()
            timed.observe(elapsed)
            self.log.info(
                "request",
                method=method,
                path=scope["path"],
                route=route,
                status=status,
                ms=round(elapsed * 1000, 2),
                request_id=request_id,
            )
