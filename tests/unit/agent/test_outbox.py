"""The outbox: items and their watermark commit together, the bound holds, drops are reported."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleetward.agent.outbox import Item, ItemKind, Outbox

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def event(i: int) -> Item:
    at = f"2025-03-01T08:{i // 60 % 60:02d}:{i % 60:02d}Z"
    return Item(ItemKind.EVENT, {"at": at, "kind": "boot", "source": "winlog:System", "n": i})


def bodies(outbox: Outbox, kind: ItemKind = ItemKind.EVENT) -> list[str]:
    return [s.body for s in outbox.batch(kind, 1_000_000)]


def test_items_and_watermark_are_kept_together(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "agent.db")
    outbox.append([event(1), event(2)], "evtx:a", "2")
    outbox.close()
    again = Outbox(tmp_path / "agent.db")
    assert again.watermark("evtx:a") == "2"
    assert [s.body for s in again.batch(ItemKind.EVENT, 10)] == [
        '{"at":"2025-03-01T08:00:01Z","kind":"boot","source":"winlog:System","n":1}',
        '{"at":"2025-03-01T08:00:02Z","kind":"boot","source":"winlog:System","n":2}',
    ]


def test_a_failure_part_way_through_keeps_neither_items_nor_watermark(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "agent.db")
    outbox.append([event(1)], "evtx:a", "1")
    unencodable = Item(ItemKind.EVENT, {"at": object()})  # json.dumps raises on it
    with pytest.raises(TypeError):
        outbox.append([event(2), event(3), unencodable], "evtx:a", "3")
    assert outbox.watermark("evtx:a") == "1"
    assert len(bodies(outbox)) == 1
    assert outbox.size() == 1


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from fleetward.agent.outbox import Item, ItemKind, Outbox
    outbox = Outbox(Path(sys.argv[1]), capacity=10**9)
    n = int(outbox.watermark("s") or 0)
    print("ready", flush=True)
    while True:
        items = [Item(ItemKind.EVENT, {"n": n + i + 1}) for i in range(50)]
        outbox.append(items, "s", str(n + 50))
        n += 50
    """
)


def test_kill_9_at_random_points_never_splits_items_from_their_watermark(tmp_path: Path) -> None:
    """The process writing steps is killed mid-write, again and again: after each kill
    the outbox holds exactly the items up to its watermark, each once."""
    db = tmp_path / "agent.db"
    rng = random.Random(5)
    for _ in range(5):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.4))
        writer.kill()
        writer.wait()
        outbox = Outbox(db, capacity=10**9)
        watermark = int(outbox.watermark("s") or 0)
        numbers = [
            int(s.body.split(":")[1].rstrip("}")) for s in outbox.batch(ItemKind.EVENT, 10**7)
        ]
        assert numbers == list(range(1, watermark + 1))
        assert outbox.size() == watermark
        outbox.close()
    assert watermark > 0


def test_batches_come_in_order_and_only_deleted_items_leave(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "agent.db")
    outbox.append([event(i) for i in range(10)])
    outbox.append([Item(ItemKind.MATCH, {"rule_id": "r", "record": {"record_id": "1"}})])
    first = outbox.batch(ItemKind.EVENT, 4)
    assert [s.id for s in first] == sorted(s.id for s in first)
    assert len(first) == 4
    assert outbox.batch(ItemKind.EVENT, 4) == first  # reading takes nothing away
    outbox.delete([s.id for s in first])
    rest = outbox.batch(ItemKind.EVENT, 100)
    assert len(rest) == 6
    assert rest[0].id > first[-1].id
    assert outbox.size() == 7
    assert outbox.size(ItemKind.MATCH) == 1


def test_what_does_not_fit_is_counted_and_reported_once_there_is_room(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "agent.db", capacity=5)
    result = outbox.append([event(i) for i in range(8)], "evtx:a", "8")
    assert (result.kept, result.dropped) == (5, 3)
    assert outbox.watermark("evtx:a") == "8"  # the source was read; the loss is on record
    outbox.append([event(20), event(21)])
    assert outbox.pending_overflow() == {
        "dropped": 5,
        "first": "2025-03-01T08:00:05Z",
        "last": "2025-03-01T08:00:21Z",
    }
    assert outbox.size() == 5
    oldest = outbox.batch(ItemKind.EVENT, 2)
    outbox.delete([s.id for s in oldest], now=T0)
    assert outbox.pending_overflow() is None
    last = outbox.batch(ItemKind.EVENT, 100)[-1]
    report = __import__("json").loads(last.body)
    assert report["kind"] == "diagnostic"
    assert report["source"] == "agent:diagnostic"
    assert report["payload"]["code"] == "outbox_overflow"
    assert report["payload"]["dropped"] == 5
    assert report["payload"]["first"] == "2025-03-01T08:00:05Z"
    assert report["payload"]["last"] == "2025-03-01T08:00:21Z"
    assert outbox.size() == 4
    # Reported once: more room made later adds no second report.
    outbox.delete([s.id for s in outbox.batch(ItemKind.EVENT, 1)])
    codes = [b for b in bodies(outbox) if "outbox_overflow" in b]
    assert len(codes) == 1


def test_the_count_survives_a_restart(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "agent.db", capacity=3)
    outbox.append([event(i) for i in range(2)])
    outbox.close()
    again = Outbox(tmp_path / "agent.db", capacity=3)
    assert again.append([event(5), event(6)]).dropped == 1


def test_agent_state_round_trips(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "agent.db")
    assert outbox.get("agent_id") is None
    outbox.set(agent_id="a1", agent_key="fwa_x", config_version=3, config={"watches": []})
    outbox.close()
    again = Outbox(tmp_path / "agent.db")
    assert (again.get("agent_id"), again.get("agent_key")) == ("a1", "fwa_x")
    assert again.get("config_version") == 3
    assert again.get("config") == {"watches": []}
