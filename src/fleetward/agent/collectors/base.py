"""The one shape every collector has, and the on-demand query they all answer.

`poll(watermark)` yields `Step`s: what was read since the watermark, and the
watermark after it. The runner writes each step's items and its watermark in
one outbox transaction, so a step is the unit that is either kept whole or
read again. Steps are small (about a thousand records), so a long backlog
never sits in memory.
"""

from __future__ import annotations

import heapq
import subprocess
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Protocol, TypeVar

# The on-demand query is the domain's: the server builds it, the agent answers it.
from fleetward.domain.agent_config import EventLogQuery
from fleetward.domain.eventlog import DamagedRecord, EventRecord
from fleetward.domain.timeline import Observation

T = TypeVar("T")

STEP_SIZE = 1_000


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


def program_output(
    argv: Sequence[str], program: str, read: Callable[[IO[bytes]], Iterator[T]]
) -> Generator[T, None, None]:
    """What `read` finds in a program's standard output, as it comes.

    A program that fails raises OSError, after what it printed before failing
    (still good); one killed here because the reader stopped early did not fail.
    """
    process = subprocess.Popen(  # noqa: S603 (our own program and arguments)
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    assert process.stdout is not None
    try:
        yield from read(process.stdout)
    finally:
        if process.poll() is None:
            process.kill()
        _, err = process.communicate()
    if process.returncode not in (0, -9):
        message = err.decode("utf-8", "replace").strip()[:500]
        raise OSError(f"{program} exited with {process.returncode}: {message}")


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

    def query(self, query: EventLogQuery) -> list[EventRecord]:
        """Records of `query.log` that pass its filters, newest first, at most its limit;
        empty when this collector does not hold that log."""
        ...

    def logs(self) -> list[str]:
        """The logs it reads, named as a person asks for them (System, journal ...)."""
        ...

    def holds(self, log_name: str) -> bool:
        """Whether `log_name` is one of its logs, so a query of it can be answered."""
        ...
