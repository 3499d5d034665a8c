"""Group commit: concurrent write jobs on SQLite share one transaction and one commit.

A commit is the dearest part of a small write transaction (the WAL append and
the lock dance around BEGIN and COMMIT), and SQLite allows one writer at a
time anyway. So a caller hands over a job (a function of one connection) and
waits. Whoever finds the writer free becomes the leader: it takes every job
queued so far, its own included, runs them in arrival order in one
transaction, commits once, and only then answers each of them. Nothing is
acknowledged before it is durable, and a burst of webhooks or agent batches
pays for one commit instead of one each. A lone caller just runs its own job,
with no thread hand-off (a separate writer thread cost two wake-ups a job).

A job that raises must not take the others down with it. Rather than a
SAVEPOINT around every job (two more statements each, on the happy path), a
failing batch is rolled back whole and its jobs are run again one per
transaction, where the failing job fails alone. Jobs must therefore be pure
database work: no effects outside the transaction until their caller has its
answer, which is after the commit.

An async caller (the webhook route) need not hold a thread while it waits:
run_async() queues its job and, when nobody leads, the event loop itself
leads the batch on its next turn, with every job queued by then. On SQLite
the batch is a few hundred microseconds of work, most of it the GIL's
anyway; handing it to another thread cost more than it saved, because every
statement released the GIL and the two threads then queued for it in turn.
The loop must never wait for the write lock, though: when a thread here or
another process holds it (`transaction_now` raises WriterBusy), or when a
job fails, nothing has been committed and the batch goes to the writer's own
thread, which waits for the lock and retries failing jobs one by one.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection

log = structlog.get_logger("fleetward.storage")

T = TypeVar("T")
# Enough to amortise the commit; small enough that one batch never holds the
# write lock long enough to starve the CLI or a page that writes.
MAX_BATCH = 64
# How many turns of its loop an async leader may wait for callers still joining.
MAX_WAIT_TURNS = 8


class _Entry:
    __slots__ = ("done", "error", "future", "job", "result")

    def __init__(
        self, job: Callable[[Connection], Any], future: asyncio.Future[Any] | None = None
    ) -> None:
        self.job = job
        self.done = False
        self.result: Any = None
        self.error: Exception | None = None
        self.future = future  # an async caller's, settled on its loop


def _settle(entries: list[_Entry]) -> None:
    """On the callers' loop, once their batch is committed. A caller that gave up
    (its client went away) still had its job committed; nobody is left to tell."""
    for entry in entries:
        future = entry.future
        if future is None or future.done():
            continue
        if entry.error is not None:
            future.set_exception(entry.error)
        else:
            future.set_result(entry.result)


class WriterBusy(Exception):
    """The write lock is held elsewhere: a thread of this process or another process."""


def _hand_back(batch: list[_Entry], running: asyncio.AbstractEventLoop | None = None) -> None:
    """Wake each loop with async callers in the batch once, not once per caller:
    every wake-up is a system call and a chance for the loop to take the GIL
    while the writer still has answers to hand out. Callers on `running` (the
    loop that led the batch) are answered directly."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Entry]] = {}
    for entry in batch:
        if entry.future is not None and entry.done:
            by_loop.setdefault(entry.future.get_loop(), []).append(entry)
    if running is not None and running in by_loop:
        _settle(by_loop.pop(running))
    for loop, entries in by_loop.items():
        # A closed loop raises RuntimeError: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, entries)


class GroupCommitWriter:
    """Runs write jobs so that those waiting together commit together.

    `transaction` opens one write transaction (the Database's, which also
    takes the process's write lock, so jobs and `with db.write()` blocks
    never overlap). `transaction_now`, if given, opens one only if it can
    without waiting and raises WriterBusy otherwise; with it, an event loop
    leads its own callers' batches.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Connection]],
        max_batch: int = MAX_BATCH,
        transaction_now: Callable[[], AbstractContextManager[Connection]] | None = None,
    ) -> None:
        self._transaction = transaction
        self._transaction_now = transaction_now
        self._max_batch = max_batch
        self._changed = threading.Condition()
        self._queued: list[_Entry] = []
        self._leading = False
        # The writer's own thread, started on the first run_async(): it leads
        # when only async callers wait.
        self._thread: ThreadPoolExecutor | None = None
        self._draining = False

    @property
    def waiting(self) -> int:
        """Jobs queued and not yet taken into a batch."""
        with self._changed:
            return len(self._queued)

    def run(self, job: Callable[[Connection], T]) -> T:
        """Run `job` in a write transaction; return its result once committed."""
        entry = _Entry(job)
        with self._changed:
            self._queued.append(entry)
        while True:
            with self._changed:
                while self._leading and not entry.done:
                    self._changed.wait()
                if entry.done:
                    break
                # The writer is free and this job still waits: lead the next batch
                # (which holds this job unless more than max_batch queued before it).
                batch = self._take_lead()
            self._lead(batch)
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[no-any-return]

    async def run_async(self, job: Callable[[Connection], T]) -> T:
        """run(), awaited: the job is led by this loop, a waiting thread or the
        writer's own thread."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        entry = _Entry(job, future)
        with self._changed:
            self._queued.append(entry)
            if not self._draining:
                self._draining = True
                if self._transaction_now is None:
                    self._drain_in_thread()
                else:  # on the loop's next turn, so the jobs queued meanwhile join
                    loop.call_soon(self._lead_on_loop, loop, 0)
        return await future

    def _drain_in_thread(self) -> None:
        """Have the writer's own thread lead until nothing is queued (lock held)."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="fleetward-writer")
        self._thread.submit(self._drain)

    def _lead_on_loop(self, loop: asyncio.AbstractEventLoop, seen: int, turns: int = 0) -> None:
        """Lead one batch on the event loop, or hand it to the writer's thread.

        While callers keep joining (more jobs queued than `seen` at the last
        look), wait another turn of the loop, up to MAX_WAIT_TURNS: requests
        already in flight queue their jobs within a turn or two, and one
        commit for all of them costs less than one each. A lone caller waits
        one idle turn; under eight concurrent senders a batch went from three
        jobs to seven.
        """
        assert self._transaction_now is not None
        with self._changed:
            if self._leading:  # a thread leads: the writer's thread queues behind it
                self._drain_in_thread()
                return
            queued = len(self._queued)
            if seen < queued < self._max_batch and turns < MAX_WAIT_TURNS:
                loop.call_soon(self._lead_on_loop, loop, queued, turns + 1)
                return
            self._draining = False
            if not self._queued:
                return
            batch = self._take_lead()
        results: list[Any] = []
        try:
            with self._transaction_now() as conn:
                for entry in batch:
                    results.append(entry.job(conn))
        except BaseException as error:
            # Nothing was committed. The writer's thread runs the batch again: it
            # may wait for the lock, and it retries failing jobs one by one.
            if not isinstance(error, WriterBusy):
                log.info(
                    "group_commit_handed_to_thread", jobs=len(batch), error=type(error).__name__
                )
            self._release_lead(batch)
            with self._changed:
                if not self._draining:
                    self._draining = True
                    self._drain_in_thread()
            if not isinstance(error, Exception):
                raise
            return
        for entry, result in zip(batch, results, strict=True):
            self._answer(entry, result, None)
        self._release_lead(batch)
        _hand_back(batch, loop)
        with self._changed:
            # More than one batch queued together: nobody else may come to lead the
            # rest (their callers are all waiting), so this loop leads them next.
            if self._queued and not self._draining:
                self._draining = True
                loop.call_soon(self._lead_on_loop, loop, 0)

    def close(self) -> None:
        """Stop the writer's own thread once what is queued has been run (a later
        run_async() starts another)."""
        with self._changed:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True)

    def _drain(self) -> None:
        """The writer's thread: lead batches until nothing is queued."""
        try:
            while True:
                with self._changed:
                    while self._leading:
                        self._changed.wait()
                    if not self._queued:
                        self._draining = False
                        return
                    batch = self._take_lead()
                self._lead(batch)
        except BaseException:
            with self._changed:  # the next run_async() starts another drain
                self._draining = False
            raise

    def _take_lead(self) -> list[_Entry]:
        """Become the leader and take the next batch (the condition's lock is held)."""
        self._leading = True
        batch = self._queued[: self._max_batch]
        del self._queued[: self._max_batch]
        return batch

    def _lead(self, batch: list[_Entry]) -> None:
        try:
            self._run_batch(batch)
        finally:
            # Only something harsher than an Exception (KeyboardInterrupt, say)
            # leaves jobs unanswered here; their transaction rolled back.
            self._release_lead(batch)
            _hand_back(batch)

    def _release_lead(self, batch: list[_Entry]) -> None:
        """Stop leading; the batch's unanswered jobs go back to the front of the
        queue for whoever leads next."""
        with self._changed:
            self._queued[:0] = [queued for queued in batch if not queued.done]
            self._leading = False
            self._changed.notify_all()

    def _run_batch(self, batch: list[_Entry]) -> None:
        results: list[Any] = []
        try:
            with self._transaction() as conn:
                for entry in batch:
                    results.append(entry.job(conn))
        except Exception as error:  # each caller gets its own answer below
            if len(batch) == 1:
                self._answer(batch[0], None, error)
                return
            log.info("group_commit_retry", jobs=len(batch), error=type(error).__name__)
            for entry in batch:
                self._run_alone(entry)
            return
        for entry, result in zip(batch, results, strict=True):
            self._answer(entry, result, None)

    def _run_alone(self, entry: _Entry) -> None:
        try:
            with self._transaction() as conn:
                result = entry.job(conn)
        except Exception as error:  # the caller re-raises it
            self._answer(entry, None, error)
        else:
            self._answer(entry, result, None)

    def _answer(self, entry: _Entry, result: Any, error: Exception | None) -> None:
        with self._changed:
            entry.result, entry.error, entry.done = result, error, True
