"""The shipper against a hand-written fake server: what it sends, keeps, drops and waits."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fleetward.agent.backoff import Backoff
from fleetward.agent.outbox import Item, ItemKind, Outbox
from fleetward.agent.shipper import Answer, Revoked, Shipper, TransportError

Reply = Answer | TransportError


@dataclass
class FakeServer:
    """Answers each POST from a script (then 200 for ever) and keeps what it was sent."""

    script: list[Callable[[list[dict[str, Any]]], Reply]] = field(default_factory=list)
    received: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        if headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        decoded = json.loads(body)
        (key,) = decoded
        items = decoded[key]
        self.headers.append(headers)
        reply = self.script.pop(0)(items) if self.script else Answer(200, {})
        if isinstance(reply, TransportError):
            raise reply
        if 200 <= reply.status < 300:
            self.received.append((path, items))
        return reply

    def delivered(self, path: str = "/api/v1/agent/events") -> list[dict[str, Any]]:
        return [item for p, items in self.received if p == path for item in items]


def status(code: int, field_name: str | None = None) -> Callable[[Any], Answer]:
    error = {"code": "x", "message": f"refused with {code}"}
    if field_name:
        error["field"] = field_name
    return lambda items: Answer(code, {"error": error})


def down(items: Any) -> TransportError:
    return TransportError("connection refused")


class Clock:
    """Monotonic time that moves only when the shipper sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.now += seconds
        return False


def events(n: int, start: int = 0) -> list[Item]:
    return [
        Item(
            ItemKind.EVENT,
            {
                "at": "2025-03-01T08:00:00Z",
                "kind": "boot",
                "source": "winlog:System",
                "event_record_id": str(i),
            },
        )
        for i in range(start, start + n)
    ]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["event_record_id"] for i in items]


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "agent.db")


def shipper(outbox: Outbox, server: FakeServer, clock: Clock, **kwargs: Any) -> Shipper:
    kwargs.setdefault("random", lambda: 1.0)
    return Shipper(outbox, server, sleep=clock.sleep, monotonic=clock.monotonic, **kwargs)


def test_batches_of_at_most_the_batch_size_gzip_in_order_then_deleted(outbox: Outbox) -> None:
    outbox.append(events(12))
    server, clock = FakeServer(), Clock()
    shipper(outbox, server, clock, batch_size=5).drain()
    assert [len(items) for _, items in server.received] == [5, 5, 2]
    assert ids(server.delivered()) == [str(i) for i in range(12)]
    assert all(h["Content-Encoding"] == "gzip" for h in server.headers)
    assert outbox.size() == 0
    assert clock.sleeps == []


def test_the_batch_size_never_exceeds_the_protocols_5000(outbox: Outbox) -> None:
    outbox.append(events(5_001))
    server = FakeServer()
    shipper(outbox, server, Clock(), batch_size=10_000).drain()
    assert [len(items) for _, items in server.received] == [5_000, 1]


def test_nothing_is_deleted_without_a_2xx(outbox: Outbox) -> None:
    outbox.append(events(3))
    server = FakeServer(script=[status(503), down, status(500)])
    clock = Clock()
    ship = shipper(outbox, server, clock)
    for _ in range(3):
        ship.ship_round()
        clock.now += 100  # past any backoff
        assert outbox.size() == 3
    ship.ship_round()
    assert outbox.size() == 0
    assert ids(server.delivered()) == ["0", "1", "2"]


def test_retries_back_off_exponentially_to_64_seconds(outbox: Outbox) -> None:
    outbox.append(events(1))
    server = FakeServer(script=[down] * 5 + [status(503)] * 4)
    clock = Clock()
    shipper(outbox, server, clock).drain()  # random() is 1.0: every wait is the ceiling
    assert clock.sleeps == [1, 2, 4, 8, 16, 32, 64, 64, 64]
    assert outbox.size() == 0


def test_the_jitter_is_full_a_uniform_share_of_the_ceiling(outbox: Outbox) -> None:
    outbox.append(events(1))
    draws = iter([0.5, 0.25, 0.0, 0.9, 0.1])
    server = FakeServer(script=[down] * 5)
    clock = Clock()
    shipper(outbox, server, clock, random=lambda: next(draws)).drain()
    assert clock.sleeps == pytest.approx([0.5, 0.5, 0.0, 7.2, 1.6])


def test_a_success_resets_the_schedule(outbox: Outbox) -> None:
    outbox.append(events(2))
    server = FakeServer(script=[down, down, down, lambda items: Answer(200, {})])
    clock = Clock()
    ship = shipper(outbox, server, clock, batch_size=1)
    ship.drain()
    outbox.append(events(1, start=9))
    server.script = [down]
    ship.drain()
    assert clock.sleeps == [1, 2, 4, 1]


def test_backoff_ceiling_alone() -> None:
    backoff = Backoff(random=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(9)] == [1, 2, 4, 8, 16, 32, 64, 64, 64]
    backoff.reset()
    assert backoff.next_delay() == 1


def test_a_422_drops_only_the_item_it_names_and_reports_it(outbox: Outbox) -> None:
    outbox.append(events(5))
    server = FakeServer(script=[status(422, "events.2.kind")])
    shipper(outbox, server, Clock()).drain()
    delivered = server.delivered()
    assert ids([d for d in delivered if d["kind"] == "boot"]) == ["0", "1", "3", "4"]
    (report,) = [d for d in delivered if d["kind"] == "diagnostic"]
    assert report["source"] == "agent:diagnostic"
    assert report["payload"]["code"] == "rejected"
    assert report["payload"]["field"] == "events.2.kind"
    assert report["payload"]["item"]["event_record_id"] == "2"
    assert "refused with 422" in report["payload"]["message"]
    assert outbox.size() == 0


def test_a_422_without_an_item_narrows_the_batch_down_to_the_bad_one(outbox: Outbox) -> None:
    outbox.append(events(4))

    def refuse_three(items: list[dict[str, Any]]) -> Answer:
        if "3" in ids(items):
            return Answer(422, {"error": {"message": "bad", "field": "body"}})
        return Answer(200, {})

    server = FakeServer(script=[refuse_three] * 20)
    shipper(outbox, server, Clock()).drain()
    assert ids([d for d in server.delivered() if d["kind"] == "boot"]) == ["0", "1", "2"]
    assert [d["payload"]["code"] for d in server.delivered() if d["kind"] == "diagnostic"] == [
        "rejected"
    ]


def test_a_413_halves_the_batch_and_successes_grow_it_back(outbox: Outbox) -> None:
    outbox.append(events(8))
    server = FakeServer(script=[status(413), status(413)])
    shipper(outbox, server, Clock()).drain()
    assert [len(items) for _, items in server.received] == [2, 4, 2]
    assert outbox.size() == 0


def test_a_401_stops_shipping_and_keeps_everything(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    outbox.append(events(3))
    server = FakeServer(script=[status(401)])
    with pytest.raises(Revoked):
        shipper(outbox, server, Clock()).drain()
    assert outbox.size() == 3
    assert "revoked" in caplog.text


def test_matches_go_to_their_own_endpoint_on_their_own_schedule(outbox: Outbox) -> None:
    match = Item(ItemKind.MATCH, {"rule_id": "r1", "record": {"record_id": "7"}})
    outbox.append([match, *events(2)])

    def by_path(items: list[dict[str, Any]]) -> Answer:
        return Answer(200, {})

    class MatchesDown(FakeServer):
        def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
            if path.endswith("/matches"):
                raise TransportError("not yet")
            return super().post(path, body, headers)

    server = MatchesDown()
    clock = Clock()
    ship = shipper(outbox, server, clock)
    assert ship.ship_round() == 1  # the matches' retry is due in a second
    assert ids(server.delivered()) == ["0", "1"]  # events went anyway
    assert outbox.size(ItemKind.MATCH) == 1
    plain = FakeServer()
    ship.transport = plain
    clock.now += 1
    ship.ship_round()
    assert plain.delivered("/api/v1/agent/matches") == [
        {"rule_id": "r1", "record": {"record_id": "7"}}
    ]
