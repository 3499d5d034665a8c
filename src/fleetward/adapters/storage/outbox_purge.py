"""The OutboxPurge port: the outbox's retention deletes, one short transaction each."""

from __future__ import annotations

from datetime import datetime

from fleetward.adapters.storage.database import SqlUnitOfWork


class SqlOutboxPurge:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def delete_published_events(self, before: datetime, limit: int) -> int:
        with self.uow.write() as repos:
            return repos.events.delete_published_before(before, limit)

    def delete_finished_jobs(self, before: datetime, limit: int) -> int:
        with self.uow.write() as repos:
            return repos.jobs.delete_finished_before(before, limit)
