"""A real HTTP server on 127.0.0.1 that records what it is sent.

For webhook subscriptions, chat webhooks and the outbound policy: Fleetward's
outbound calls go over TCP to it like to any receiver. It answers each request
with the next scripted (status, headers, body), then 200 once the script is spent.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        with self.lock:
            self.script.append((status, headers or {}, body))


@contextmanager
def receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            target = holder[0]
            with target.lock:
                target.requests.append(
                    Received(self.command, self.path, dict(self.headers.items()), body)
                )
                status, headers, answer = target.script.pop(0) if target.script else (200, {}, b"")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    holder.append(Receiver(f"http://{host}:{port}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()


def header(received: Received, name: str) -> str:
    """A header of a received request, whatever case the sender wrote it in."""
    return next(v for k, v in received.headers.items() if k.lower() == name.lower())


def signature_verifies(received: Received, secret: str) -> bool:
    """What a receiver of Fleetward's webhooks does (docs/webhooks.md): recompute
    HMAC-SHA256(secret, "<t>.<body>") and compare it with the header's v1."""
    parts = dict(
        item.split("=", 1) for item in header(received, "X-Fleetward-Signature").split(",")
    )
    signed = parts["t"].encode() + b"." + received.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])
