"""What the fake provider APIs share: a real HTTP server on 127.0.0.1, a log of
what it was sent, and failures a test can inject for the next requests.

Each fake (fake_ninjaone.py, fake_tactical.py) subclasses FakeApi and routes
requests in `handle`; everything here is plumbing, not vendor behaviour.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None  # JSON-encoded unless bytes
    headers: tuple[tuple[str, str], ...] = ()


class FakeApi(ABC):
    """One fake vendor API (or receiver). Subclasses implement `handle`."""

    def __init__(self) -> None:
        self.url = ""
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self._failures: list[tuple[str | None, Answer]] = []

    def fail_next(
        self,
        status: int,
        *,
        retry_after: int | str | None = None,
        times: int = 1,
        path: str | None = None,
    ) -> None:
        """The next `times` requests (to a path starting with `path`, if given) are
        answered `status`, with a Retry-After header when `retry_after` is set."""
        headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
        with self.lock:
            for _ in range(times):
                self._failures.append((path, Answer(status, {"error": "injected"}, headers)))

    def calls(self, method: str, path_prefix: str) -> list[Request]:
        with self.lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    @abstractmethod
    def handle(self, request: Request) -> Answer:
        """The answer to a request no injected failure took."""

    def _answer(self, request: Request) -> Answer:
        with self.lock:
            self.requests.append(request)
            for index, (path, failure) in enumerate(self._failures):
                if path is None or request.path.startswith(path):
                    del self._failures[index]
                    return failure
            return self.handle(request)


F = TypeVar("F", bound=FakeApi)


@contextmanager
def serve(fake: F) -> Iterator[F]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            request = Request(self.command, parts.path, query, dict(self.headers.items()), body)
            answer = fake._answer(request)
            payload = (
                answer.body
                if isinstance(answer.body, bytes)
                else b""
                if answer.body is None
                else json.dumps(answer.body).encode()
            )
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    fake.url = f"http://{host}:{port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
