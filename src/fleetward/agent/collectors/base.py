"""The one shape every collector has, and the on-demand query they all answer.

`poll(watermark)` yields `Step`s: what was read since the watermark, and the
watermark after it. The runner writes each step's items and its watermark in
one outbox transaction, so a step is the unit that is either kept whole or
read again. Steps are small (about a thousand records), so a long backlog
never sits in memory.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import DamagedRecord, EventRecord, MinLevel, severity_rank
from fleetward.domain.timeline import Observation

STEP_SIZE = 1_000
QUERY_LIMIT_DEFAULT = 100
QUERY_LIMIT_MAX = 500


@dataclass(frozen=True, slots=True)
class Read:
    """One thing a collector read: a record for the watch rules, its timeline moment if any."""

    record: EventRecord | None = None
    observation: Observation | None = None
    # Other log names the record also belongs to, for watch rules: every
    # journal entry is in its unit's log and in `journal`.
    also_in: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Damage:
    """A record that could not be read, and where (a file name, a log)."""

    where: str
    damage: DamagedRecord


@dataclass(frozen=True, slots=True)
class Failure:
    """A source that could not be read this time (reported as `collector_error`).

    `key` is stable for the same failure, so reporting it again is a duplicate.
    """

    where: str
    message: str
    key: str


Entry = Read | Damage | Failure


@dataclass(frozen=True, slots=True)
class Step:
    entries: list[Entry]
    watermark: str


@dataclass(frozen=True, slots=True)
class Query:
    """The `eventlog.query` command's arguments, checked."""

    log: str
    level: MinLevel | None = None
    event_id: int | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = QUERY_LIMIT_DEFAULT
    _source: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "_source", (self.source or "").casefold())

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Query:
        log = args.get("log")
        if not isinstance(log, str) or not log.strip():
            raise InvalidInput("log is required", field="log")
        limit = args.get("limit", QUERY_LIMIT_DEFAULT)
        if not isinstance(limit, int) or not 1 <= limit <= QUERY_LIMIT_MAX:
            raise InvalidInput(f"limit must be 1 to {QUERY_LIMIT_MAX}", field="limit")
        level = args.get("level")
        try:
            min_level = MinLevel(level) if level is not None else None
        except ValueError:
            raise InvalidInput(f"level {level!r} is not a level", field="level") from None
        event_id = args.get("event_id")
        if event_id is not None and not isinstance(event_id, int):
            raise InvalidInput("event_id must be an integer", field="event_id")
        source = args.get("source")
        return cls(
            log=log.strip(),
            level=min_level,
            event_id=event_id,
            source=str(source) if source else None,
            since=_time(args.get("since"), "since"),
            until=_time(args.get("until"), "until"),
            limit=limit,
        )

    def accepts(self, record: EventRecord) -> bool:
        """Every filter but `log`, which each collector applies in its own terms."""
        if self.level is not None and severity_rank(record.level) > self.level.rank:
            return False
        if self.event_id is not None and record.event_id != self.event_id:
            return False
        if self._source and record.provider.casefold() != self._source:
            return False
        if self.since is not None and record.time_created < self.since:
            return False
        return self.until is None or record.time_created < self.until


def _time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} is not an ISO 8601 time", field=name) from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def newest(records: Iterable[EventRecord], limit: int) -> list[EventRecord]:
    """The `limit` newest records, newest first, holding no more than `limit` at a time."""
    return heapq.nlargest(limit, records, key=lambda r: (r.time_created, _order(r.record_id)))


def _order(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (0, record_id)


class Collector(Protocol):
    """A source of records: polled for what is new, queried on demand."""

    @property
    def source(self) -> str:
        """The watermark's name in the outbox: stable across restarts."""
        ...

    def poll(self, watermark: str | None) -> Iterator[Step]:
        """What is new since `watermark` (None: never read), step by step."""
        ...

    def query(self, query: Query) -> list[EventRecord]:
        """Records of `query.log` that pass its filters, newest first, at most its limit;
        empty when this collector does not hold that log."""
        ...
