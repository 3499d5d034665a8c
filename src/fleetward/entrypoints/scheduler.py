"""Jobs the server runs by itself, in process: the timeline's and the outbox's
retention cleanups and the providers' polling (reconciliation,
services/reconciliation.py).

They run on the server's event loop while it serves, each job's work in a thread
so a long DELETE never stalls requests; the polling's work is a coroutine that
awaits its provider calls on the loop and puts its writes on threads. A job that
fails is logged and tried again at its next turn. Several API nodes would each
run every job; the jobs are idempotent, so that only repeats work (an advisory
lock per job, planned, would pick one node), and a sync still runs once per
integration at a time on every node (its sync_run row).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from fleetward.bootstrap import Container

log = structlog.get_logger("fleetward.scheduler")

# The first run waits a little: a server that restarts often still gets its
# cleanup, without making start-up itself heavier.
FIRST_RUN_AFTER_S = 60.0
# Each integration has its own interval (poll_interval_minutes); this is how often
# the scheduler looks for the ones due.
POLL_CHECK_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every_seconds: float
    work: Callable[[], object]  # what it did, for the log line
    first_after_seconds: float = FIRST_RUN_AFTER_S
    # A coroutine's work, awaited on the loop instead of `work` on a thread.
    async_work: Callable[[], Awaitable[object]] | None = None


def jobs_for(c: Container) -> list[Job]:
    settings = c.settings
    return [
        Job(
            "timeline_cleanup",
            settings.timeline_cleanup_interval_seconds,
            lambda: {"deleted": c.timeline.cleanup(settings.timeline_retention_days)},
            min(FIRST_RUN_AFTER_S, settings.timeline_cleanup_interval_seconds),
        ),
        Job(
            "outbox_cleanup",
            settings.outbox_cleanup_interval_seconds,
            lambda: dataclasses.asdict(c.outbox_retention.cleanup(settings.outbox_retention_days)),
            min(FIRST_RUN_AFTER_S, settings.outbox_cleanup_interval_seconds),
        ),
        Job(
            "provider_polling",
            POLL_CHECK_SECONDS,
            lambda: None,
            POLL_CHECK_SECONDS,
            async_work=c.sync.poll_due,
        ),
    ]


async def _repeat(job: Job, stop: asyncio.Event) -> None:
    wait = job.first_after_seconds
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        if stop.is_set():
            return
        try:
            if job.async_work is not None:
                done = await job.async_work()
            else:
                done = await asyncio.to_thread(job.work)
        except Exception:
            log.exception("job_failed", job=job.name)
        else:
            log.info("job_done", job=job.name, result=done)
        wait = job.every_seconds


class Scheduler:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(_repeat(job, self._stop)) for job in self.jobs]

    async def stop(self) -> None:
        """Stop waiting; a job in the middle of its work finishes it first."""
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
