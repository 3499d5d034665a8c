"""A real HTTP server on 127.0.0.1 that records what it is sent.

For webhook subscriptions, chat webhooks and the outbound policy: Fleetward's
outbound calls go over TCP to it like to any receiver. It is a fake API
(tests/support/fake_api.py) that answers each request with the next scripted
(status, headers, body), then 200 once the script is spent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.fake_api import Answer, FakeApi, Request, serve


class Receiver(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.script: list[Answer] = []

    def answer(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        with self.lock:
            self.script.append(Answer(status, body, tuple((headers or {}).items())))

    def handle(self, request: Request) -> Answer:
        return self.script.pop(0) if self.script else Answer(200, b"")


@contextmanager
def receiver() -> Iterator[Receiver]:
    with serve(Receiver()) as found:
        yield found


def header(received: Request, name: str) -> str:
    """A header of a received request, whatever case the sender wrote it in."""
    return next(v for k, v in received.headers.items() if k.lower() == name.lower())


def signature_verifies(received: Request, secret: str) -> bool:
    """What a receiver of Fleetward's webhooks does (docs/webhooks.md): recompute
    HMAC-SHA256(secret, "<t>.<body>") and compare it with the header's v1."""
    parts = dict(
        item.split("=", 1) for item in header(received, "X-Fleetward-Signature").split(",")
    )
    signed = parts["t"].encode() + b"." + received.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])
