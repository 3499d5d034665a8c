"""The agent's one SQLite file: what waits to be shipped, where each source was read to, and state.

Durability rests on one rule: items and the watermark of the source they came
from are written in ONE transaction (`append`). A crash before the commit
keeps neither, so the source is read again from the old watermark; a crash
after keeps both. Nothing is read twice into the outbox and nothing is lost.
Items leave only by `delete`, which the shipper calls after the server's 2xx.

The outbox is bounded. What does not fit is counted (with the time range of
the events dropped), and once there is room again the count becomes one
`diagnostic` timeline event (`code: outbox_overflow`), in the same transaction
that made the room: nothing is dropped without being reported.

WAL with synchronous=NORMAL: a power cut may lose the last transactions, but
always whole ones (items and their watermark together), so the agent re-reads
what it lost. A killed process loses nothing.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_CAPACITY = 200_000
FILE_NAME = "agent.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_kind_id ON outbox (kind, id);
CREATE TABLE IF NOT EXISTS watermark (
    source TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_COUNT = "outbox_count"
_OVERFLOW = "overflow"  # {"dropped", "first", "last"} while items wait to be reported


class ItemKind(enum.StrEnum):
    EVENT = "event"  # a timeline event, for POST /api/v1/agent/events
    MATCH = "match"  # a watch-rule match, for POST /api/v1/agent/matches


@dataclass(frozen=True, slots=True)
class Item:
    kind: ItemKind
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Stored:
    """An item as read back for shipping: its id and its JSON text, never re-encoded."""

    id: int
    body: str


@dataclass(frozen=True, slots=True)
class AppendResult:
    kept: int
    dropped: int


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    """UTC with a `Z`, as the agent sends every time."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def diagnostic(
    code: str, message: str, at: datetime, record_id: str | None = None, **extra: Any
) -> Item:
    """A `diagnostic` timeline event of the agent's own."""
    body: dict[str, Any] = {
        "at": iso(at),
        "kind": "diagnostic",
        "source": "agent:diagnostic",
        "event_record_id": record_id or f"{code}:{uuid.uuid4()}",
        "payload": {"code": code, "message": message, **extra},
    }
    return Item(ItemKind.EVENT, body)


class Outbox:
    """Thread-safe: the collector, the shipper and the channel share one connection."""

    def __init__(self, path: Path, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("the outbox capacity must be at least 1")
        self.path = path
        self.capacity = capacity
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are opened explicitly (BEGIN IMMEDIATE),
        # so each public method is exactly one transaction.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            if self._get(_COUNT) is None:
                (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
                self._put(_COUNT, count)

    @classmethod
    def in_dir(cls, state_dir: Path, capacity: int = DEFAULT_CAPACITY) -> Outbox:
        return cls(state_dir / FILE_NAME, capacity)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- transactions -------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    def _get(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _put(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    # --- items ----------------------------------------------------------------

    def append(
        self, items: Iterable[Item], source: str | None = None, watermark: str | None = None
    ) -> AppendResult:
        """Keep `items` and move `source`'s watermark to `watermark`, all or nothing.

        Items beyond the capacity are dropped and counted, never silently.
        """
        with self._transaction():
            result = self._insert(items)
            if source is not None and watermark is not None:
                self._db.execute(
                    "INSERT INTO watermark (source, value) VALUES (?, ?) "
                    "ON CONFLICT (source) DO UPDATE SET value = excluded.value",
                    (source, watermark),
                )
            return result

    def _insert(self, items: Iterable[Item]) -> AppendResult:
        count: int = self._get(_COUNT)
        kept = 0
        dropped: list[Item] = []
        for item in items:
            if count >= self.capacity:
                dropped.append(item)
                continue
            self._db.execute(
                "INSERT INTO outbox (kind, body) VALUES (?, ?)",
                (item.kind.value, json.dumps(item.body, separators=(",", ":"))),
            )
            count += 1
            kept += 1
        self._put(_COUNT, count)
        if dropped:
            self._count_overflow(dropped)
        return AppendResult(kept, len(dropped))

    def _count_overflow(self, dropped: Sequence[Item]) -> None:
        overflow = self._get(_OVERFLOW) or {"dropped": 0, "first": None, "last": None}
        times = [t for t in (_item_time(i) for i in dropped) if t is not None]
        overflow["dropped"] += len(dropped)
        if times:
            first, last = min(times), max(times)
            overflow["first"] = min(filter(None, (overflow["first"], first)))
            overflow["last"] = max(filter(None, (overflow["last"], last)))
        self._put(_OVERFLOW, overflow)

    def batch(self, kind: ItemKind, limit: int, after_id: int = 0) -> list[Stored]:
        """The oldest `limit` items of `kind` (after `after_id`), in the order they came."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM outbox WHERE kind = ? AND id > ? ORDER BY id LIMIT ?",
                (kind.value, after_id, limit),
            ).fetchall()
        return [Stored(row[0], row[1]) for row in rows]

    def delete(
        self, ids: Sequence[int], now: datetime | None = None, add: Sequence[Item] = ()
    ) -> int:
        """Forget items the server has committed; report past overflow once there is room.

        `add` is kept in the same transaction (the report of an item refused).
        """
        with self._transaction():
            deleted = 0
            for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                deleted += self._db.execute(
                    f"DELETE FROM outbox WHERE id IN ({marks})",  # noqa: S608 (only ? marks)
                    tuple(chunk),
                ).rowcount
            self._put(_COUNT, self._get(_COUNT) - deleted)
            if add:
                self._insert(add)
            count: int = self._get(_COUNT)
            overflow = self._get(_OVERFLOW)
            if overflow and count < self.capacity:
                self._db.execute("DELETE FROM state WHERE key = ?", (_OVERFLOW,))
                report = diagnostic(
                    "outbox_overflow",
                    f"the outbox was full ({self.capacity} items): "
                    f"{overflow['dropped']} items were dropped",
                    now or utc_now(),
                    dropped=overflow["dropped"],
                    first=overflow["first"],
                    last=overflow["last"],
                )
                # The report itself always fits: it may exceed the bound by one.
                self._db.execute(
                    "INSERT INTO outbox (kind, body) VALUES (?, ?)",
                    (report.kind.value, json.dumps(report.body, separators=(",", ":"))),
                )
                self._put(_COUNT, count + 1)
            return deleted

    def size(self, kind: ItemKind | None = None) -> int:
        with self._lock:
            if kind is None:
                return int(self._get(_COUNT))
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind.value,)
            ).fetchone()
            return int(n)

    def pending_overflow(self) -> dict[str, Any] | None:
        with self._lock:
            found: dict[str, Any] | None = self._get(_OVERFLOW)
            return found

    # --- watermarks and state -------------------------------------------------

    def watermark(self, source: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM watermark WHERE source = ?", (source,)
            ).fetchone()
        return None if row is None else str(row[0])

    def get(self, key: str) -> Any:
        with self._lock:
            return self._get(f"agent.{key}")

    def set(self, **values: Any) -> None:
        """Save agent state (agent_id, agent_key, config_version, config, ...) in one go."""
        with self._transaction():
            for key, value in values.items():
                self._put(f"agent.{key}", value)

    def set_with_items(self, items: Iterable[Item], **values: Any) -> AppendResult:
        """State and items together: the start-up events and the version they record."""
        with self._transaction():
            result = self._insert(items)
            for key, value in values.items():
                self._put(f"agent.{key}", value)
            return result


def _item_time(item: Item) -> str | None:
    at = item.body.get("at") if item.kind is ItemKind.EVENT else item.body.get("record", {})
    if isinstance(at, dict):
        at = at.get("time_created")
    return at if isinstance(at, str) else None


class _Transaction:
    """BEGIN IMMEDIATE .. COMMIT under the outbox's lock; ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self._lock.release()
