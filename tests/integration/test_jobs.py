"""The outbox's jobs on both engines: enqueued once per key, claimed by one runner,
retried with backoff until given up, taken over when a runner dies mid-job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.bootstrap import Container
from fleetward.domain.jobs import FIRST_RETRY, Job, JobFailed, JobStatus, NewJob
from fleetward.services.outbox import JobRunner
from fleetward.services.ports import Repositories
from tests.conftest import TenantFixture
from tests.support.aio import run_coroutine
from tests.support.clocks import ManualClock as Clock

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def enqueue(
    container: Container, tenant: TenantFixture, key: str | None, at: datetime
) -> uuid.UUID | None:
    job = NewJob(tenant.id, "test.call", {"n": 1}, key=key, ref_type="alert", ref_id=tenant.id)
    with SqlUnitOfWork(container.db).write() as repos:
        return repos.jobs.enqueue(job, at)


def test_a_key_enqueued_twice_is_one_job(container: Container, tenant: TenantFixture) -> None:
    first = enqueue(container, tenant, "reset:1", T0)
    again = enqueue(container, tenant, "reset:1", T0 + timedelta(seconds=1))
    unkeyed = [enqueue(container, tenant, None, T0) for _ in range(2)]
    assert first is not None and again is None
    assert all(unkeyed) and unkeyed[0] != unkeyed[1]
    with SqlUnitOfWork(container.db).read() as repos:
        assert repos.jobs.count(tenant.id) == 3


def test_a_claimed_job_is_nobody_elses_until_its_lease_ends(
    container: Container, tenant: TenantFixture
) -> None:
    job_id = enqueue(container, tenant, None, T0)
    uow = SqlUnitOfWork(container.db)
    lease = timedelta(minutes=5)
    with uow.write() as repos:
        (claimed,) = repos.jobs.claim(T0, lease, 10)
    with uow.write() as repos:
        assert repos.jobs.claim(T0 + timedelta(minutes=4), lease, 10) == []
    with uow.write() as repos:  # the first runner died: the lease ran out
        (again,) = repos.jobs.claim(T0 + timedelta(minutes=6), lease, 10)
    assert claimed.id == again.id == job_id
    assert (claimed.attempts, again.attempts) == (1, 2)
    assert again.status is JobStatus.RUNNING


def test_a_job_not_yet_due_is_not_claimed(container: Container, tenant: TenantFixture) -> None:
    enqueue(container, tenant, None, T0 + timedelta(minutes=1))
    with SqlUnitOfWork(container.db).write() as repos:
        assert repos.jobs.claim(T0, timedelta(minutes=5), 10) == []


def _runner(container: Container, clock: Clock) -> JobRunner:
    return JobRunner(SqlUnitOfWork(container.db), clock)


def test_a_failing_call_is_retried_with_backoff_then_succeeds(
    container: Container, tenant: TenantFixture
) -> None:
    clock = Clock(T0)
    runner = _runner(container, clock)
    calls: list[uuid.UUID] = []
    failures: list[tuple[str, bool]] = []

    async def flaky(job: Job) -> None:
        calls.append(job.id)
        if len(calls) < 3:
            raise JobFailed("receiver answered 503", status_code=503)

    def note(repos: Repositories, job: Job, error: str, given_up: bool) -> None:
        failures.append((error, given_up))

    runner.register("test.call", flaky, note)
    job_id = enqueue(container, tenant, None, T0)
    assert run_coroutine(runner.run_due()) == 1
    assert run_coroutine(runner.run_due()) == 0  # not due before its backoff
    clock.now += FIRST_RETRY
    assert run_coroutine(runner.run_due()) == 1
    clock.now += FIRST_RETRY  # the second wait is twice the first
    assert run_coroutine(runner.run_due()) == 0
    clock.now += FIRST_RETRY
    assert run_coroutine(runner.run_due()) == 1
    with SqlUnitOfWork(container.db).read() as repos:
        job = repos.jobs.get(tenant.id, job_id)  # type: ignore[arg-type]
    assert job is not None and job.status is JobStatus.DONE and job.attempts == 3
    assert calls == [job_id] * 3
    assert failures == [("receiver answered 503", False)] * 2


def test_retry_after_is_honoured_and_a_job_is_given_up_at_its_deadline(
    container: Container, tenant: TenantFixture
) -> None:
    clock = Clock(T0)
    runner = _runner(container, clock)

    async def refuses(job: Job) -> None:
        raise JobFailed("slow down", status_code=429, retry_after=3600)

    runner.register("test.call", refuses)
    with SqlUnitOfWork(container.db).write() as repos:
        job_id = repos.jobs.enqueue(
            NewJob(tenant.id, "test.call", {}, give_up_after=timedelta(hours=2)), T0
        )
    run_coroutine(runner.run_due())
    clock.now += timedelta(minutes=59)
    assert run_coroutine(runner.run_due()) == 0  # Retry-After: an hour, not 10 s
    clock.now += timedelta(minutes=2)
    run_coroutine(runner.run_due())  # the next wait would pass the deadline: given up
    with SqlUnitOfWork(container.db).read() as repos:
        job = repos.jobs.get(tenant.id, job_id)  # type: ignore[arg-type]
    assert job is not None and job.status is JobStatus.FAILED
    assert (job.last_error, job.last_status_code, job.attempts) == ("slow down", 429, 2)


def test_a_job_of_an_unknown_kind_fails_for_good_and_others_still_run(
    container: Container, tenant: TenantFixture
) -> None:
    clock = Clock(T0)
    runner = _runner(container, clock)
    done: list[uuid.UUID] = []

    async def works(job: Job) -> None:
        done.append(job.id)

    runner.register("test.call", works)
    good = enqueue(container, tenant, None, T0)
    with SqlUnitOfWork(container.db).write() as repos:
        odd = repos.jobs.enqueue(NewJob(tenant.id, "no.such.kind", {}), T0)
    assert run_coroutine(runner.run_due()) == 2
    with SqlUnitOfWork(container.db).read() as repos:
        unknown = repos.jobs.get(tenant.id, odd)  # type: ignore[arg-type]
    assert done == [good]
    assert unknown is not None and unknown.status is JobStatus.FAILED
    assert "no handler" in (unknown.last_error or "")


def test_replay_runs_a_finished_job_again_under_its_id(
    container: Container, tenant: TenantFixture
) -> None:
    clock = Clock(T0)
    runner = _runner(container, clock)
    seen: list[uuid.UUID] = []

    async def works(job: Job) -> None:
        seen.append(job.id)

    runner.register("test.call", works)
    job_id = enqueue(container, tenant, None, T0)
    run_coroutine(runner.run_due())
    with SqlUnitOfWork(container.db).write() as repos:
        assert repos.jobs.replay(tenant.id, job_id, clock.now)  # type: ignore[arg-type]
        assert not repos.jobs.replay(uuid.uuid4(), job_id, clock.now)  # type: ignore[arg-type]
    run_coroutine(runner.run_due())
    assert seen == [job_id, job_id]
