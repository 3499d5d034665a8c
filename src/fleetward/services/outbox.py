"""Runs the outbox's jobs after the changes that wrote them have committed.

One handler per job kind (registered in bootstrap.py): it does the call and
returns, or raises JobFailed. The runner records every attempt on the job,
retries with backoff (domain/jobs.py) until the job's give-up time, and never
lets one job's failure stop another's. Tests run `run_due()` themselves; the
server runs `run_forever()` beside its scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from fleetward.domain.jobs import Job, JobFailed, JobStatus, next_attempt_at
from fleetward.services.ports import Clock, Repositories, UnitOfWork

log = structlog.get_logger("fleetward.jobs")

Handler = Callable[[Job], Awaitable[None]]
# Told of every failed attempt (given_up: no more tries), to show it where people look.
FailureHook = Callable[[Repositories, Job, str, bool], None]
# Enqueues jobs from what committed changes left behind (the domain events' dispatch),
# in the claiming transaction, so what it enqueues is claimed in the same turn.
Feeder = Callable[[Repositories, datetime], object]


@dataclass(frozen=True, slots=True)
class _Kind:
    handler: Handler
    on_failure: FailureHook | None


class JobRunner:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        *,
        batch: int = 20,
        lease: timedelta = timedelta(minutes=5),
        idle_seconds: float = 1.0,
        feeders: Sequence[Feeder] = (),
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.batch = batch
        self.lease = lease  # longer than any handler's own timeouts and retries
        self.idle_seconds = idle_seconds
        self._kinds: dict[str, _Kind] = {}
        self.feeders = tuple(feeders)

    def register(self, kind: str, handler: Handler, on_failure: FailureHook | None = None) -> None:
        self._kinds[kind] = _Kind(handler, on_failure)

    async def run_due(self) -> int:
        """Claim the jobs that are due and run them; how many ran."""
        now = self.clock()

        def feed_and_claim(repos: Repositories) -> list[Job]:
            for feed in self.feeders:
                feed(repos, now)
            return repos.jobs.claim(now, self.lease, self.batch)

        jobs = await self.uow.run_write_async(feed_and_claim)
        await asyncio.gather(*(self._run(job) for job in jobs))
        return len(jobs)

    async def run_until_idle(self, rounds: int = 100) -> int:
        """Run due jobs until none is due (or `rounds` passed): for tests and the CLI."""
        total = 0
        for _ in range(rounds):
            ran = await self.run_due()
            total += ran
            if not ran:
                break
        return total

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                ran = await self.run_due()
            except Exception:  # the store is away: try again at the next turn
                log.exception("jobs_claim_failed")
                ran = 0
            if ran < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_seconds)

    async def _run(self, job: Job) -> None:
        kind = self._kinds.get(job.kind)
        try:
            if kind is None:
                raise JobFailed(f"no handler for jobs of kind {job.kind!r}", permanent=True)
            await kind.handler(job)
        except JobFailed as failure:
            await self._failed(job, kind, failure)
        except Exception as error:  # a handler's bug must not stop the other jobs
            log.exception("job_handler_crashed", job_id=str(job.id), kind=job.kind)
            await self._failed(job, kind, JobFailed(f"{type(error).__name__}: {error}"))
        else:
            now = self.clock()
            await self.uow.run_write_async(
                lambda repos: repos.jobs.finish(job.id, JobStatus.DONE, now)
            )

    async def _failed(self, job: Job, kind: _Kind | None, failure: JobFailed) -> None:
        now = self.clock()
        retry_at = next_attempt_at(job.attempts, now, failure.retry_after)
        given_up = failure.permanent or retry_at >= job.give_up_at
        message = str(failure)
        log.warning(
            "job_failed",
            job_id=str(job.id),
            kind=job.kind,
            attempt=job.attempts,
            given_up=given_up,
            error=message,
        )

        def record(repos: Repositories) -> None:
            repos.jobs.finish(
                job.id,
                JobStatus.FAILED if given_up else JobStatus.PENDING,
                now,
                next_attempt_at=None if given_up else retry_at,
                error=message,
                status_code=failure.status_code,
            )
            if kind is not None and kind.on_failure is not None:
                kind.on_failure(repos, job, message, given_up)

        await self.uow.run_write_async(record)
