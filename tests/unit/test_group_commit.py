"""Group commit on a real SQLite file: shared commits, isolated failures, nothing early,
no writer left waiting."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Connection, bindparam, event, text
from sqlalchemy.exc import IntegrityError

from fleetward.adapters.storage.database import Database
from fleetward.adapters.storage.group_commit import MAX_BATCH, GroupCommitWriter
from tests.support.aio import run_coroutine

T = TypeVar("T")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'group.db'}")
    with database.write() as conn:
        conn.exec_driver_sql("CREATE TABLE item (name TEXT PRIMARY KEY)")
    yield database
    database.dispose()


class Commits:
    """The commits that kept a change, counted on SQLite's own connections: reads
    commit too (an empty transaction), so a commit counts only when the
    connection's total_changes moved since its last one."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self._changes_seen: dict[int, int] = {}
        event.listen(db.engine, "commit", self._committed)

    def _committed(self, conn: Connection) -> None:
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        changes = driver.total_changes
        if changes != self._changes_seen.get(id(driver), 0):
            self.count += 1
        self._changes_seen[id(driver)] = changes


@pytest.fixture
def commits(db: Database) -> Commits:
    return Commits(db)


@pytest.fixture
def writer(db: Database) -> Iterator[GroupCommitWriter]:
    """The writer Database.run_write uses on SQLite, over the same transactions."""
    group = GroupCommitWriter(db.write)
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


def test_jobs_waiting_together_share_one_commit(
    db: Database, writer: GroupCommitWriter, commits: Commits
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
    # The held job wrote nothing; the three that queued behind it shared one commit.
    assert commits.count == 1


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
    db: Database, writer: GroupCommitWriter, commits: Commits
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
    assert commits.count == 1  # the held job wrote nothing


def test_a_lone_async_job_is_committed_before_its_answer_also_after_close(
    db: Database, writer: GroupCommitWriter
) -> None:
    async def twice() -> list[tuple[str, list[str]]]:
        first = await writer.run_async(insert("a")), stored(db)
        writer.close()  # a closed writer still takes the next job
        second = await writer.run_async(insert("b")), stored(db)
        return [first, second]

    assert run_coroutine(twice()) == [("a", ["a"]), ("b", ["a", "b"])]


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


def test_async_callers_on_one_loop_share_a_commit_and_are_answered_after_it(
    db: Database, commits: Commits
) -> None:
    async def together() -> tuple[list[str], list[str]]:
        answers = await asyncio.gather(*(db.run_write_async(insert(n)) for n in "abc"))
        return list(answers), stored(db)

    answers, seen = run_coroutine(together())
    assert answers == ["a", "b", "c"]
    assert seen == ["a", "b", "c"]  # what another reader sees once all are answered
    assert commits.count == 1


def test_async_callers_joining_over_several_turns_share_one_commit(
    db: Database, commits: Commits
) -> None:
    async def staggered() -> list[str]:
        tasks = []
        for name in "abcd":
            tasks.append(asyncio.create_task(db.run_write_async(insert(name))))
            await asyncio.sleep(0)  # the next caller comes a turn of the loop later
        return list(await asyncio.gather(*tasks))

    assert run_coroutine(staggered()) == ["a", "b", "c", "d"]
    assert commits.count == 1  # the leader waited while callers kept joining
    assert stored(db) == ["a", "b", "c", "d"]


def test_more_async_callers_than_one_batch_holds_are_all_answered(db: Database) -> None:
    """A burst larger than MAX_BATCH on one loop turn: the loop leads the first batch,
    and the rest must not wait for a later caller to come and lead them."""
    names = [f"n{i:03d}" for i in range(MAX_BATCH * 2 + 5)]

    async def burst() -> list[str]:
        calls = asyncio.gather(*(db.run_write_async(insert(name)) for name in names))
        return list(await asyncio.wait_for(calls, timeout=30))  # a hang, not a speed

    assert run_coroutine(burst()) == names
    assert stored(db) == names


def _ticks_while(db: Database, job: Callable[[Connection], str]) -> tuple[str, int, list[str]]:
    """Run `job` through db.run_write_async while a ticker counts the loop's turns;
    with what another reader sees once it is answered."""

    async def run() -> tuple[str, int, list[str]]:
        ticks = 0
        task = asyncio.create_task(db.run_write_async(job))
        while not task.done():
            await asyncio.sleep(0.01)
            ticks += 1
        return await task, ticks, stored(db)

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
        answer, ticks, seen = _ticks_while(db, insert("p"))
    finally:
        holder.wait(10)
    # The loop kept turning while the write waited out the other process,
    # and the write was committed once the lock was free, before its answer.
    assert ticks >= 10
    assert (answer, seen) == ("p", ["p"])
    # The refused attempt left nothing half-open: the next write commits as usual.
    assert _ticks_while(db, insert("q"))[::2] == ("q", ["p", "q"])


def test_after_a_failing_batch_the_next_write_commits(db: Database) -> None:
    db.run_write(insert("taken"))
    with pytest.raises(IntegrityError):
        _ticks_while(db, insert("taken"))
    assert stored(db) == ["taken"]
    assert _ticks_while(db, insert("next"))[::2] == ("next", ["next", "taken"])


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
        answer, ticks, seen = _ticks_while(db, insert("t"))
    finally:
        release.set()
        holder.join(5)
    assert ticks >= 10
    assert (answer, seen) == ("t", ["t"])


def test_concurrent_threads_and_loops_all_commit_and_none_is_left_waiting(
    db: Database,
) -> None:
    """Writers that come and go in every mix (threads, several loops) are each woken:
    every job is answered, after its commit, and every row kept. (That waiting jobs
    share commits is shown above, where who waits is not left to the scheduler.)"""
    rounds, threads, loops = 40, 4, 2
    answered: list[str] = []
    unseen: list[str] = []  # answered, yet another reader did not find the row
    lock = threading.Lock()

    def note(names: list[str]) -> None:
        with db.read() as conn:
            found = {
                row[0]
                for row in conn.execute(
                    text("SELECT name FROM item WHERE name IN :names").bindparams(
                        bindparam("names", expanding=True)
                    ),
                    {"names": names},
                )
            }
        with lock:
            answered.extend(names)
            unseen.extend(sorted(set(names) - found))

    def thread_writer(who: int) -> None:
        for n in range(rounds):
            note([db.run_write(insert(f"t{who}-{n:03}"))])

    async def loop_writer(who: int) -> None:
        for n in range(0, rounds, 4):  # four callers at a time on this loop
            names = [f"a{who}-{m:03}" for m in range(n, n + 4)]
            note(list(await asyncio.gather(*(db.run_write_async(insert(x)) for x in names))))

    workers = [
        threading.Thread(target=thread_writer, args=(i,), daemon=True) for i in range(threads)
    ]
    workers += [
        threading.Thread(target=asyncio.run, args=(loop_writer(i),), daemon=True)
        for i in range(loops)
    ]
    for worker in workers:
        worker.start()
    # A lost wake-up leaves a worker waiting for good: give them all one minute.
    give_up_at = time.monotonic() + 60
    for worker in workers:
        worker.join(max(0.0, give_up_at - time.monotonic()))
    assert [w for w in workers if w.is_alive()] == []
    expected = sorted(
        [f"t{i}-{n:03}" for i in range(threads) for n in range(rounds)]
        + [f"a{i}-{n:03}" for i in range(loops) for n in range(rounds)]
    )
    assert sorted(answered) == expected
    assert unseen == []
    assert stored(db) == expected
