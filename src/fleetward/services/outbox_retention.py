"""Retention of the outbox: published domain events and finished jobs are deleted
once they are older than FLEETWARD_OUTBOX_RETENTION_DAYS.

Run by the server's scheduler (entrypoints/scheduler.py) and by `fleetward outbox
cleanup`. What is still to do is never deleted, whatever its age: an unpublished
event, a pending or running job. A job's rows are what the delivery logs, an
alert's outbound attempts and a notification's delivery state are read from, so
those show the retention period's worth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleetward.domain.errors import InvalidInput
from fleetward.services.ports import Clock, OutboxPurge

# Rows per transaction: each batch is a short write, so requests waiting for
# SQLite's one writer get their turn between batches, however long the backlog.
BATCH_ROWS = 500


@dataclass(frozen=True, slots=True)
class OutboxCleaned:
    events: int
    jobs: int


class OutboxRetention:
    def __init__(self, purge: OutboxPurge, clock: Clock, batch: int = BATCH_ROWS) -> None:
        self.purge = purge
        self.clock = clock
        self.batch = batch

    def cleanup(self, retention_days: int) -> OutboxCleaned:
        """Delete every tenant's events published, and jobs finished, more than
        `retention_days` ago."""
        if retention_days < 1:
            raise InvalidInput("retention must be at least one day", field="retention_days")
        cutoff = self.clock() - timedelta(days=retention_days)
        return OutboxCleaned(
            events=self._in_batches(self.purge.delete_published_events, cutoff),
            jobs=self._in_batches(self.purge.delete_finished_jobs, cutoff),
        )

    def _in_batches(self, delete: Callable[[datetime, int], int], cutoff: datetime) -> int:
        total = 0
        while True:
            deleted = delete(cutoff, self.batch)
            total += deleted
            # Rows newer than the cutoff never qualify, so a short batch means done.
            if deleted < self.batch:
                return total
