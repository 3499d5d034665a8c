"""/healthz's probe: reused for a second, one at a time, bounded, and told by real writes."""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy.exc import OperationalError

from fleetward.adapters.storage.faults import WriteOutcomes
from fleetward.adapters.storage.health import DatabaseHealth, StorageHealth


def _fault(code: int, message: str) -> OperationalError:
    driver_error = sqlite3.OperationalError(message)
    driver_error.sqlite_errorcode = code
    return OperationalError("UPDATE", None, driver_error)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeDatabase:
    """Probes that fail when told to, counting how often they ran."""

    def __init__(self, clock: FakeClock) -> None:
        self.write_outcomes = WriteOutcomes(memory=15.0, clock=clock)
        self.read_error: Exception | None = None
        self.write_error: Exception | None = None
        self.write_gate: threading.Event | None = None
        self.probes = 0

    def probe_read(self) -> None:
        self.probes += 1
        if self.read_error is not None:
            raise self.read_error

    def probe_write(self) -> None:
        if self.write_gate is not None:
            self.write_gate.wait(10)
        if self.write_error is not None:
            raise self.write_error


def test_a_probe_answers_for_a_second_then_the_next_one_sees_the_change() -> None:
    clock = FakeClock()
    db = FakeDatabase(clock)
    health = StorageHealth(db, fresh_for=1.0, clock=clock)
    assert health.check() == DatabaseHealth(read=True, write=True)
    db.write_error = _fault(sqlite3.SQLITE_READONLY, "attempt to write a readonly database")
    clock.now += 0.5
    assert health.cached() == DatabaseHealth(read=True, write=True)
    assert health.check() == DatabaseHealth(read=True, write=True)
    assert db.probes == 1
    clock.now += 0.6
    assert health.cached() is None
    assert health.check() == DatabaseHealth(read=True, write=False, reason="read-only")
    assert db.probes == 2


def test_reads_failing_fail_writes_too_with_the_reason() -> None:
    clock = FakeClock()
    db = FakeDatabase(clock)
    db.read_error = _fault(sqlite3.SQLITE_IOERR, "disk I/O error")
    assert StorageHealth(db, clock=clock).check() == DatabaseHealth(
        read=False, write=False, reason="I/O error"
    )


def test_a_probe_that_hangs_answers_within_the_wait_and_only_one_runs() -> None:
    clock = FakeClock()
    db = FakeDatabase(clock)
    db.write_gate = threading.Event()
    health = StorageHealth(db, wait=0.05, clock=clock)
    try:
        first = health.check()
        second = health.check()  # joins the probe under way instead of starting one
    finally:
        db.write_gate.set()
    hung = DatabaseHealth(read=True, write=False, reason="no answer within 0.05 s")
    assert first == hung and second == hung
    assert db.probes == 1


def test_a_real_writes_fault_counts_until_a_write_succeeds() -> None:
    """A full disk may take the probe's one page and refuse a webhook's dozen."""
    clock = FakeClock()
    db = FakeDatabase(clock)
    health = StorageHealth(db, clock=clock)
    db.write_outcomes.failed("disk full")
    assert health.check() == DatabaseHealth(read=True, write=False, reason="disk full")
    db.write_outcomes.succeeded()
    assert health.check() == DatabaseHealth(read=True, write=True)
    db.write_outcomes.failed("disk full")
    clock.now += 16  # forgotten when nothing has written since
    assert health.check() == DatabaseHealth(read=True, write=True)
