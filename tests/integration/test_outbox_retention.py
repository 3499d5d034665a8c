"""Retention of the outbox: published domain events and finished jobs older than
FLEETWARD_OUTBOX_RETENTION_DAYS go, in bounded batches; work still to do stays,
whatever its age. The deletes run on both engines."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.adapters.storage.outbox_purge import SqlOutboxPurge
from fleetward.bootstrap import Container
from fleetward.domain.errors import InvalidInput
from fleetward.domain.jobs import JobStatus, NewJob
from fleetward.entrypoints.http.app import create_app
from fleetward.services.outbox_retention import OutboxCleaned, OutboxRetention
from fleetward.services.ports import Repositories
from tests.conftest import TenantFixture
from tests.support.agent_live import wait_for

DAY = timedelta(days=1)
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class CountingPurge:
    """The real purge, each transaction's count noted."""

    def __init__(self, inner: SqlOutboxPurge) -> None:
        self.inner = inner
        self.batches: list[int] = []

    def delete_published_events(self, before: datetime, limit: int) -> int:
        self.batches.append(self.inner.delete_published_events(before, limit))
        return self.batches[-1]

    def delete_finished_jobs(self, before: datetime, limit: int) -> int:
        self.batches.append(self.inner.delete_finished_jobs(before, limit))
        return self.batches[-1]


def _job(repos: Repositories, tenant: TenantFixture, at: datetime) -> uuid.UUID:
    job_id = repos.jobs.enqueue(NewJob(tenant.id, "test.noop", {"n": 1}), at)
    assert job_id is not None
    return job_id


def _finished(
    repos: Repositories, tenant: TenantFixture, at: datetime, status: JobStatus
) -> uuid.UUID:
    job_id = _job(repos, tenant, at)
    repos.jobs.finish(job_id, status, at + timedelta(minutes=1))
    return job_id


def _events(repos: Repositories, tenant: TenantFixture, created: list[datetime]) -> list[int]:
    """Events written at those times, in that order; their ids."""
    for at in created:
        repos.events.add(tenant.id, "alert.triggered", {"at": at.isoformat()}, at)
    return [e.id for e in repos.events.unpublished(1000) if e.tenant_id == tenant.id]


def _job_ids(container: Container) -> set[uuid.UUID]:
    with container.db.read() as conn:
        return set(conn.execute(select(schema.job.c.id)).scalars())


def _event_ids(container: Container) -> set[int]:
    with container.db.read() as conn:
        return set(conn.execute(select(schema.domain_event.c.id)).scalars())


def test_old_finished_rows_go_in_batches_and_work_still_to_do_stays(
    container: Container, tenant: TenantFixture
) -> None:
    now = datetime.now(UTC)
    old, recent = now - 40 * DAY, now - 20 * DAY
    uow = SqlUnitOfWork(container.db)
    with uow.write() as repos:
        gone_jobs = {
            _finished(repos, tenant, old - timedelta(hours=i), JobStatus.DONE) for i in range(4)
        } | {_finished(repos, tenant, old, JobStatus.FAILED)}
        never_run = _job(repos, tenant, old)
        running = _job(repos, tenant, old)
        repos.jobs.update(tenant.id, running, status=JobStatus.RUNNING.value, lease_until=old + DAY)
        retrying = _job(repos, tenant, old)
        repos.jobs.finish(retrying, JobStatus.PENDING, old, next_attempt_at=old + DAY)
        replayed = _finished(repos, tenant, old, JobStatus.FAILED)
        assert repos.jobs.replay(tenant.id, replayed, recent)
        done_lately = _finished(repos, tenant, recent, JobStatus.DONE)

        ids = _events(repos, tenant, [old, old, old, old, old, recent, now])
        published_long_ago, never_published, published_lately, newest = (
            ids[:4],
            ids[4],
            ids[5],
            ids[6],
        )
        repos.events.mark_published(published_long_ago, old + timedelta(minutes=1))
        repos.events.mark_published([published_lately], recent)
    kept_jobs = {never_run, running, retrying, replayed, done_lately}
    assert _job_ids(container) == gone_jobs | kept_jobs

    purge = CountingPurge(SqlOutboxPurge(uow))
    cleaned = OutboxRetention(purge, container.outbox_retention.clock, batch=2).cleanup(30)

    assert cleaned == OutboxCleaned(events=4, jobs=5)
    assert purge.batches == [2, 2, 0, 2, 2, 1]  # never more than a batch per transaction
    assert _job_ids(container) == kept_jobs
    assert _event_ids(container) == {never_published, published_lately, newest}
    assert container.outbox_retention.cleanup(30) == OutboxCleaned(events=0, jobs=0)
    assert container.outbox_retention.cleanup(15) == OutboxCleaned(events=1, jobs=1)
    assert _job_ids(container) == kept_jobs - {done_lately}


def test_the_newest_event_stays_so_no_event_id_is_handed_out_twice(
    container: Container, tenant: TenantFixture
) -> None:
    """SQLite numbers a new row after the largest id left: had the cleanup deleted
    the newest events, their ids would come again, and a delivery job keyed by an
    old event id would make the new event's delivery look like one already made."""
    old = datetime.now(UTC) - 40 * DAY
    uow = SqlUnitOfWork(container.db)
    with uow.write() as repos:
        ids = _events(repos, tenant, [old, old, old])
        repos.events.mark_published(ids, old)
    cleaned = container.outbox_retention.cleanup(30)
    with uow.write() as repos:
        later = _events(repos, tenant, [datetime.now(UTC)])
    assert later[0] > max(ids)
    assert cleaned == OutboxCleaned(events=2, jobs=0)
    assert _event_ids(container) == {max(ids), later[0]}


def test_retention_must_be_a_day_at_least(container: Container) -> None:
    with pytest.raises(InvalidInput) as refused:
        container.outbox_retention.cleanup(0)
    assert refused.value.field == "retention_days"


@SQLITE_ONLY
def test_the_server_runs_the_outbox_cleanup_by_itself(
    container: Container, tenant: TenantFixture
) -> None:
    old = datetime.now(UTC) - 40 * DAY
    with SqlUnitOfWork(container.db).write() as repos:
        old_job = _finished(repos, tenant, old, JobStatus.DONE)
        ids = _events(repos, tenant, [old, old])
        repos.events.mark_published(ids, old)
    container.settings = container.settings.model_copy(
        update={"scheduler_enabled": True, "outbox_cleanup_interval_seconds": 1}
    )
    with TestClient(create_app(container)):  # its lifespan runs the scheduler
        wait_for(lambda: old_job not in _job_ids(container), 30, "the outbox cleanup job")
    assert _event_ids(container) == {max(ids)}


@SQLITE_ONLY
def test_the_cleanup_command_uses_the_retention_setting(
    container: Container, tenant: TenantFixture, database_url: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from fleetward.entrypoints.cli import app

    now = datetime.now(UTC)
    with SqlUnitOfWork(container.db).write() as repos:
        for age in (5, 15, 25, 35):
            _finished(repos, tenant, now - age * DAY, JobStatus.DONE)
        ids = _events(repos, tenant, [now - 25 * DAY, now - 24 * DAY, now])
        repos.events.mark_published(ids, now - 22 * DAY)
    base = ["--data-dir", str(tmp_path), "--database-url", database_url]
    run = CliRunner().invoke(
        app,
        [*base, "outbox", "cleanup"],
        env={"FLEETWARD_OUTBOX_RETENTION_DAYS": "20"},
    )
    assert run.exit_code == 0, run.output
    assert "deleted 2 published domain events and 2 finished jobs older than 20 days" in (
        run.output
    )
    run = CliRunner().invoke(
        app,
        [*base, "outbox", "cleanup", "--days", "10"],
    )
    assert run.exit_code == 0, run.output
    assert "deleted 0 published domain events and 1 finished jobs older than 10 days" in (
        run.output
    )
