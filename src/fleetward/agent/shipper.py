"""Ships the outbox to the server in batches; an item leaves the outbox only after a 2xx.

Events go to POST /api/v1/agent/events, watch-rule matches to
/api/v1/agent/matches, each with its own retry schedule, so a server that
refuses one keeps receiving the other. A batch is read from SQLite, sent as
gzip, and deleted by id once the server answers 2xx: a crash anywhere re-sends
the batch, which the server counts as duplicates (docs/agent-protocol.md).

5xx, 429 and network errors retry with exponential backoff and full jitter
(1 s doubling to 64 s). A 422 names the one bad item (`events.3.kind`): it is
dropped, reported as a `rejected` diagnostic, and the rest is sent again. 413
halves the batch. 401 means the key was revoked: shipping stops (`Revoked`).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from fleetward.agent.backoff import Backoff
from fleetward.agent.outbox import Item, ItemKind, Outbox, Stored, diagnostic, utc_now

MAX_BATCH = 5_000
MAX_BATCH_BYTES = 8 * 1024 * 1024  # uncompressed; the server inflates at most 16 MiB
ENDPOINTS = {
    ItemKind.EVENT: ("/api/v1/agent/events", "events"),
    ItemKind.MATCH: ("/api/v1/agent/matches", "matches"),
}
_ITEM_FIELD = re.compile(r"^(events|matches)\.(\d+)(?:\.|$)")

log = logging.getLogger("fleetward.agent.shipper")


class Revoked(Exception):
    """The server refused the agent's key (401): it was revoked, or this is not its server."""


class TransportError(Exception):
    """The server could not be reached, or the connection broke before an answer."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any  # the parsed JSON, or None


class Transport(Protocol):
    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST and return the answer; TransportError when there is none."""
        ...


class HttpTransport:
    """The real one: httpx to the server, the agent key on every request."""

    def __init__(self, server: str, key: str, timeout: float = 60.0) -> None:
        self._client = httpx.Client(
            base_url=server.rstrip("/"),
            timeout=timeout,
            headers={"Authorization": f"Bearer {key}"},
        )

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            answer = self._client.post(path, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise TransportError(f"{type(error).__name__}: {error}") from error
        try:
            parsed = answer.json()
        except ValueError:
            parsed = None
        return Answer(answer.status_code, parsed)

    def close(self) -> None:
        self._client.close()


@dataclass
class _Lane:
    """One endpoint's batch size and retry schedule."""

    kind: ItemKind
    backoff: Backoff
    batch_size: int
    not_before: float = 0.0


class Shipper:
    def __init__(
        self,
        outbox: Outbox,
        transport: Transport,
        *,
        batch_size: int = MAX_BATCH,
        sleep: Callable[[float], bool] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float] | None = None,
        clock: Callable[[], datetime] = utc_now,
        compress: bool = True,
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        """`sleep(seconds)` waits and returns True when the agent is stopping."""
        self.outbox = outbox
        self.transport = transport
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.sleep = sleep or _plain_sleep
        self.monotonic = monotonic
        self.clock = clock
        self.compress = compress
        self.stopped = stopped
        self._lanes = [_Lane(k, Backoff(random=random), self.batch_size) for k in ENDPOINTS]
        self.sent = 0

    def drain(self) -> None:
        """Ship until the outbox is empty, retrying as long as it takes; stops when `sleep` says.

        Raises Revoked on a 401.
        """
        while not self.stopped():
            delay = self.ship_round()
            if delay is None or self.sleep(delay):
                return

    def ship_round(self) -> float | None:
        """Send what each lane may send now; the seconds until a retry is due, None when done."""
        waits: list[float] = []
        for lane in self._lanes:
            now = self.monotonic()
            if now < lane.not_before:
                waits.append(lane.not_before - now)
                continue
            while not self.stopped():
                outcome = self._send_one(lane)
                if outcome == "empty":
                    break
                if outcome == "retry":
                    delay = lane.backoff.next_delay()
                    lane.not_before = self.monotonic() + delay
                    waits.append(delay)
                    break
        return min(waits) if waits else None

    def _send_one(self, lane: _Lane) -> str:
        batch = _bounded(self.outbox.batch(lane.kind, lane.batch_size))
        if not batch:
            return "empty"
        path, key = ENDPOINTS[lane.kind]
        body = b'{"' + key.encode() + b'":[' + b",".join(s.body.encode() for s in batch) + b"]}"
        headers = {"Content-Type": "application/json"}
        if self.compress:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        try:
            answer = self.transport.post(path, body, headers)
        except TransportError as error:
            log.warning("cannot reach the server (%s); retrying with backoff", error)
            return "retry"
        if 200 <= answer.status < 300:
            self.outbox.delete([s.id for s in batch])
            self.sent += len(batch)
            lane.backoff.reset()
            # Back up towards the full size after a 413 or a narrowed-down 422.
            lane.batch_size = min(self.batch_size, lane.batch_size * 2)
            return "sent"
        if answer.status == 401:
            log.error(
                "the server refused this agent's key (401): it was revoked. Shipping stops; "
                "enrol the machine again with a new token (empty the state directory first)."
            )
            raise Revoked(_message(answer))
        if answer.status == 422:
            return self._rejected(lane, batch, answer)
        if answer.status == 413 and len(batch) > 1:
            lane.batch_size = max(1, len(batch) // 2)
            log.warning("the server found a batch too large; sending %d at a time", lane.batch_size)
            return "sent"
        if answer.status == 413:
            self._drop(batch[0], lane.kind, answer, _message(answer))
            return "sent"
        log.warning(
            "the server answered %d (%s); retrying with backoff", answer.status, _message(answer)
        )
        return "retry"

    def _rejected(self, lane: _Lane, batch: list[Stored], answer: Answer) -> str:
        """Drop the one item a 422 names; without a name, narrow the batch down to it."""
        found = _ITEM_FIELD.match(_field(answer))
        if found is not None and int(found.group(2)) < len(batch):
            self._drop(batch[int(found.group(2))], lane.kind, answer, _message(answer))
            return "sent"
        if len(batch) > 1:
            lane.batch_size = max(1, len(batch) // 2)
            return "sent"
        self._drop(batch[0], lane.kind, answer, _message(answer))
        return "sent"

    def _drop(self, item: Stored, kind: ItemKind, answer: Answer, message: str) -> None:
        summary = _summary(item, kind)
        log.warning("the server refused an item (%d %s): %s", answer.status, message, summary)
        report: list[Item] = []
        if summary.get("code") != "rejected":  # a refused report is not reported again
            report.append(
                diagnostic(
                    "rejected",
                    f"the server refused an item: {message}",
                    self.clock(),
                    status=answer.status,
                    field=_field(answer) or None,
                    item=summary,
                )
            )
        self.outbox.delete([item.id], add=report)


def _bounded(batch: list[Stored]) -> list[Stored]:
    """As many items as fit MAX_BATCH_BYTES, at least one."""
    total = 0
    for index, stored in enumerate(batch):
        total += len(stored.body) + 1
        if total > MAX_BATCH_BYTES and index:
            return batch[:index]
    return batch


def _error(answer: Answer) -> dict[str, Any]:
    body = answer.body
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _field(answer: Answer) -> str:
    return str(_error(answer).get("field") or "")


def _message(answer: Answer) -> str:
    return str(_error(answer).get("message") or f"HTTP {answer.status}")


def _summary(item: Stored, kind: ItemKind) -> dict[str, Any]:
    """What identifies a refused item, small enough to fit a diagnostic's payload."""
    try:
        body = json.loads(item.body)
    except ValueError:
        return {"kind": kind.value}
    if kind is ItemKind.MATCH:
        record = body.get("record") if isinstance(body.get("record"), dict) else {}
        return {"rule_id": body.get("rule_id"), "record_id": record.get("record_id")}
    payload = body.get("payload") if isinstance(body.get("payload"), dict) else {}
    summary = {k: body.get(k) for k in ("at", "kind", "source", "event_record_id")}
    if body.get("kind") == "diagnostic":
        summary["code"] = payload.get("code")
    return {k: str(v)[:300] for k, v in summary.items() if v is not None}


def _plain_sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False
