"""The in-process scheduler: jobs repeat, a failing job is tried again, stop is prompt."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from fleetward.entrypoints.scheduler import Job, Scheduler


def run_alone(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run on a thread of its own: the browser tests keep a loop on this one."""
    failures: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(asyncio.wait_for(scenario(), 30))
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the scenario did not finish"
    if failures:
        raise failures[0]


def test_a_job_repeats_survives_its_own_failure_and_stops_when_told() -> None:
    runs: list[int] = []

    def flaky() -> object:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("the database was away")
        return {"ok": True}

    async def scenario() -> None:
        scheduler = Scheduler([Job("flaky", 0.01, flaky, first_after_seconds=0.0)])
        scheduler.start()
        while len(runs) < 4:  # past the failure: it kept its schedule
            await asyncio.sleep(0.01)
        await asyncio.wait_for(scheduler.stop(), 5)
        stopped_at = len(runs)
        await asyncio.sleep(0.05)
        assert len(runs) == stopped_at, "no run after stop"

    run_alone(scenario)


def test_stop_does_not_wait_for_a_long_interval() -> None:
    async def scenario() -> None:
        scheduler = Scheduler([Job("daily", 86_400, lambda: None, first_after_seconds=86_400)])
        scheduler.start()
        await asyncio.wait_for(scheduler.stop(), 5)

    run_alone(scenario)


def test_a_coroutine_job_is_awaited_on_the_loop() -> None:
    runs: list[int] = []

    async def poll() -> object:
        runs.append(1)
        await asyncio.sleep(0)
        return {"ran": 1}

    async def scenario() -> None:
        job = Job("poll", 0.01, lambda: None, first_after_seconds=0.0, async_work=poll)
        scheduler = Scheduler([job])
        scheduler.start()
        while len(runs) < 2:
            await asyncio.sleep(0.01)
        await asyncio.wait_for(scheduler.stop(), 5)

    run_alone(scenario)
