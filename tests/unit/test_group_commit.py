"""Group commit on a real SQLite file: shared commits, isolated failures, nothing early."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Connection, event, text

from fleetward.adapters.storage.database import Database
from fleetward.adapters.storage.group_commit import GroupCommitWriter

T = TypeVar("T")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'group.db'}")
    with database.write() as conn:
        conn.exec_driver_sql("CREATE TABLE item (name TEXT PRIMARY KEY)")
    yield database
    database.dispose()


class CountedTransactions:
    """db.write, counting the transactions it opens."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.opened = 0

    @contextmanager
    def __call__(self) -> Iterator[Connection]:
        self.opened += 1
        with self.db.write() as conn:
            yield conn


@pytest.fixture
def transactions(db: Database) -> CountedTransactions:
    return CountedTransactions(db)


@pytest.fixture
def writer(transactions: CountedTransactions) -> Iterator[GroupCommitWriter]:
    """The writer Database.run_write uses on SQLite, over the same transactions."""
    group = GroupCommitWriter(transactions)
    yield group
    group.close()


def wait_until_queued(writer: GroupCommitWriter, count: int) -> None:
    for _ in range(500):
        if writer.waiting >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"only {writer.waiting} jobs queued")


class HeldWriter:
    """A job in a thread of its own that holds the writer until released (or the block ends)."""

    def __init__(self, writer: GroupCommitWriter) -> None:
        self._writer = writer
        self._holding = threading.Event()
        self._released = threading.Event()
        self._thread = threading.Thread(target=writer.run, args=(self._hold,))

    def _hold(self, conn: Connection) -> None:
        self._holding.set()
        self._released.wait(5)

    def __enter__(self) -> HeldWriter:
        self._thread.start()
        assert self._holding.wait(5), "the holding job never ran"
        return self

    def release(self) -> None:
        self._released.set()

    def release_after_queued(self, callers: list[threading.Thread]) -> None:
        """Start the callers, let go once all their jobs wait behind the held one,
        and wait for them to finish."""
        for caller in callers:
            caller.start()
        wait_until_queued(self._writer, len(callers))
        self.release()
        for caller in callers:
            caller.join(5)

    def __exit__(self, *exc_info: object) -> None:
        self._released.set()
        self._thread.join(5)


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run() in a thread of its own: a session fixture (Playwright's sync
    API) may keep an event loop running in the test thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(10)


def stored(db: Database) -> list[str]:
    with db.read() as conn:
        return [row[0] for row in conn.execute(text("SELECT name FROM item ORDER BY name"))]


def insert(name: str) -> Callable[[Connection], str]:
    def job(conn: Connection) -> str:
        conn.execute(text("INSERT INTO item (name) VALUES (:name)"), {"name": name})
        return name

    return job


def test_a_lone_job_is_committed_before_its_answer(db: Database) -> None:
    assert db.run_write(insert("a")) == "a"  # Database's own writer
    assert stored(db) == ["a"]


def test_jobs_waiting_together_share_one_transaction(
    db: Database, writer: GroupCommitWriter, transactions: CountedTransactions
) -> None:
    """While one batch holds the writer, later jobs queue and then commit together."""
    results: dict[str, object] = {}
    with HeldWriter(writer) as held:
        waiting = [
            threading.Thread(target=lambda n=name: results.update({n: writer.run(insert(n))}))
            for name in ("b", "c", "d")
        ]
        held.release_after_queued(waiting)
    assert results == {"b": "b", "c": "c", "d": "d"}
    assert stored(db) == ["b", "c", "d"]
    # The leader's batch was its own; the three that queued behind it shared one.
    assert transactions.opened == 2


def test_a_failing_job_fails_alone_and_the_others_are_kept(
    db: Database, writer: GroupCommitWriter
) -> None:
    writer.run(insert("taken"))
    outcomes: dict[str, object] = {}

    def attempt(name: str) -> None:
        try:
            outcomes[name] = writer.run(insert(name))
        except Exception as error:  # the test looks at which one failed
            outcomes[name] = type(error).__name__

    with HeldWriter(writer) as held:
        # "taken" again breaks the primary key; "x" and "y" share its batch.
        threads = [threading.Thread(target=attempt, args=(n,)) for n in ("x", "taken", "y")]
        held.release_after_queued(threads)
    assert outcomes["x"] == "x" and outcomes["y"] == "y"
    assert outcomes["taken"] == "IntegrityError"
    assert stored(db) == ["taken", "x", "y"]


def test_a_job_that_raises_leaves_nothing_behind(db: Database) -> None:
    def half_done(conn: Connection) -> None:
        conn.execute(text("INSERT INTO item (name) VALUES ('half')"))
        raise ValueError("changed my mind")

    with pytest.raises(ValueError, match="changed my mind"):
        db.run_write(half_done)
    assert stored(db) == []
    assert db.run_write(insert("after")) == "after"  # the writer is free again


def test_async_callers_share_a_commit_and_are_answered_after_it(
    db: Database, writer: GroupCommitWriter, transactions: CountedTransactions
) -> None:
    """Coroutines queue behind a busy writer without a thread each, then commit together."""

    async def callers(held: HeldWriter) -> list[tuple[str, list[str]]]:
        async def one(name: str) -> tuple[str, list[str]]:
            answer = await writer.run_async(insert(name))
            return answer, stored(db)  # what another reader sees once answered

        tasks = [asyncio.create_task(one(name)) for name in ("b", "c", "d")]
        while writer.waiting < 3:
            await asyncio.sleep(0.01)
        held.release()
        return list(await asyncio.gather(*tasks))

    with HeldWriter(writer) as held:
        answers = run_coroutine(callers(held))
    assert [answer for answer, _ in answers] == ["b", "c", "d"]
    assert all(seen == ["b", "c", "d"] for _, seen in answers)  # committed before answered
    assert transactions.opened == 2


def test_a_lone_async_job_is_led_by_the_writers_own_thread(writer: GroupCommitWriter) -> None:
    def where(conn: Connection) -> str:
        return threading.current_thread().name

    async def twice() -> list[str]:
        first = await writer.run_async(where)
        writer.close()  # stops that thread; the next call starts another
        return [first, await writer.run_async(where)]

    names = run_coroutine(twice())
    assert all(name.startswith("fleetward-writer") for name in names)
    assert threading.current_thread().name not in names


@pytest.mark.parametrize("led_by", ["writer thread", "event loop"])
def test_an_async_job_that_fails_fails_alone(
    db: Database, writer: GroupCommitWriter, led_by: str
) -> None:
    """On the loop a failing batch goes to the writer's thread, which retries it job by job."""
    writer.run(insert("taken"))
    run_async = writer.run_async if led_by == "writer thread" else db.run_write_async

    async def attempts() -> list[object]:
        jobs = [run_async(insert(name)) for name in ("x", "taken", "y")]
        return list(await asyncio.gather(*jobs, return_exceptions=True))

    x, taken, y = run_coroutine(attempts())
    assert (x, y) == ("x", "y")
    assert type(taken).__name__ == "IntegrityError"
    assert stored(db) == ["taken", "x", "y"]


# The Database's own writer: async callers are led on their event loop, which
# never waits for the write lock.


def test_async_jobs_are_led_on_their_own_loop_and_committed_before_answered(
    db: Database,
) -> None:
    def job(name: str) -> Callable[[Connection], tuple[str, str]]:
        def run(conn: Connection) -> tuple[str, str]:
            insert(name)(conn)
            return name, threading.current_thread().name

        return run

    async def together() -> tuple[str, list[tuple[str, str]], list[str]]:
        answers = await asyncio.gather(*(db.run_write_async(job(n)) for n in "abc"))
        return threading.current_thread().name, list(answers), stored(db)

    loop_thread, answers, seen = run_coroutine(together())
    assert answers == [("a", loop_thread), ("b", loop_thread), ("c", loop_thread)]
    assert seen == ["a", "b", "c"]


def test_async_callers_joining_over_several_turns_share_one_commit(db: Database) -> None:
    commits: list[object] = []
    event.listen(db.engine, "commit", commits.append)

    async def staggered() -> list[str]:
        tasks = []
        for name in "abcd":
            tasks.append(asyncio.create_task(db.run_write_async(insert(name))))
            await asyncio.sleep(0)  # the next caller comes a turn of the loop later
        return list(await asyncio.gather(*tasks))

    assert run_coroutine(staggered()) == ["a", "b", "c", "d"]
    assert len(commits) == 1  # the leader waited while callers kept joining
    assert stored(db) == ["a", "b", "c", "d"]


def _ticks_while(db: Database, job: Callable[[Connection], str]) -> tuple[str, int, str]:
    """Run `job` through db.run_write_async while a ticker counts the loop's turns."""

    def where(conn: Connection) -> str:
        job(conn)
        return threading.current_thread().name

    async def run() -> tuple[str, int, str]:
        ticks = 0
        task = asyncio.create_task(db.run_write_async(where))
        while not task.done():
            await asyncio.sleep(0.01)
            ticks += 1
        return await task, ticks, threading.current_thread().name

    return run_coroutine(run())


def test_a_write_lock_held_by_another_process_does_not_block_the_loop(
    db: Database, tmp_path: Path
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('held', flush=True)\n"
            "time.sleep(0.5)\n"
            "c.execute('ROLLBACK')\n",
            str(tmp_path / "group.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        ran_on, ticks, loop_thread = _ticks_while(db, insert("p"))
    finally:
        holder.wait(10)
    # The loop kept turning while the writer's thread waited out the other process.
    assert ticks >= 10
    assert ran_on != loop_thread and ran_on.startswith("fleetward-writer")
    assert stored(db) == ["p"]
    # Its own connection came out of the refused BEGIN clean: the loop leads again.
    ran_on, _, loop_thread = _ticks_while(db, insert("q"))
    assert ran_on == loop_thread
    assert stored(db) == ["p", "q"]


def test_after_a_failing_batch_the_loop_leads_the_next_one(db: Database) -> None:
    db.run_write(insert("taken"))
    with pytest.raises(Exception, match="UNIQUE"):
        _ticks_while(db, insert("taken"))  # rolled back, retried alone on the thread
    ran_on, _, loop_thread = _ticks_while(db, insert("next"))
    assert ran_on == loop_thread  # the loop's connection was left out of any transaction
    assert stored(db) == ["next", "taken"]


def test_a_write_lock_held_by_a_thread_here_does_not_block_the_loop(db: Database) -> None:
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    threading.Timer(0.3, release.set).start()
    try:
        ran_on, ticks, loop_thread = _ticks_while(db, insert("t"))
    finally:
        release.set()
        holder.join(5)
    assert ticks >= 10
    assert ran_on != loop_thread
    assert stored(db) == ["t"]
