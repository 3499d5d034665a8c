"""What the database can do right now, for /healthz: read, write, and why not.

A probe reads a row of a real table, then commits a write that changes
nothing on the path real writes take (Database.probe_write): a read-only
file, a full disk that leaves the WAL no room, a lock held elsewhere or a
server gone each make it fail as they would a real write. A full disk may
still take the probe's one page while a webhook's dozen fail, so a storage
fault of a real write also counts, until a write succeeds or
FAILURE_MEMORY_S pass (faults.WriteOutcomes).

/healthz is polled, so a probe's result is reused for FRESH_FOR_S, at most
one probe runs at a time, and a caller waits at most WAIT_S for one: a probe
still running then (a lock held elsewhere, a server not answering) answers
for what it has not yet seen as failing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import structlog

from fleetward.adapters.storage.faults import WriteOutcomes, error_code, fault_reason

log = structlog.get_logger("fleetward.storage")

FRESH_FOR_S = 1.0
WAIT_S = 2.0


class Probed(Protocol):
    write_outcomes: WriteOutcomes

    def probe_read(self) -> None: ...

    def probe_write(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    read: bool
    write: bool
    reason: str | None = None  # why not, in a few words; None when both work


def _reason(error: Exception) -> str:
    return fault_reason(error) or error_code(error)


class _Probe:
    """One probe under way; `read` is known before the write's outcome is."""

    def __init__(self) -> None:
        self.finished = threading.Event()
        self.read: bool | None = None


class StorageHealth:
    def __init__(
        self,
        db: Probed,
        fresh_for: float = FRESH_FOR_S,
        wait: float = WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._fresh_for = fresh_for
        self._wait = wait
        self._clock = clock
        self._lock = threading.Lock()
        self._probed: DatabaseHealth | None = None
        self._probed_at = 0.0
        self._probe: _Probe | None = None

    def cached(self) -> DatabaseHealth | None:
        """The answer without probing, when the last probe is recent enough."""
        with self._lock:
            probed = self._probed
            if probed is None or self._clock() - self._probed_at >= self._fresh_for:
                return None
        return self._with_real_writes(probed)

    def check(self) -> DatabaseHealth:
        """The answer, probing if the last probe is too old (blocks up to `wait`)."""
        with self._lock:
            if self._probed is not None and self._clock() - self._probed_at < self._fresh_for:
                return self._with_real_writes(self._probed)
            probe = self._probe
            if probe is None:
                probe = self._probe = _Probe()
                threading.Thread(
                    target=self._run, args=(probe,), name="fleetward-health", daemon=True
                ).start()
        if not probe.finished.wait(self._wait):
            reason = f"no answer within {self._wait:g} s"
            return DatabaseHealth(read=bool(probe.read), write=False, reason=reason)
        with self._lock:
            probed = self._probed
        assert probed is not None
        return self._with_real_writes(probed)

    def _with_real_writes(self, probed: DatabaseHealth) -> DatabaseHealth:
        if probed.write and (failure := self._db.write_outcomes.recent_failure()):
            return replace(probed, write=False, reason=failure)
        return probed

    def _run(self, probe: _Probe) -> None:
        result = self._probe_once(probe)
        if result.reason is not None:
            log.warning(
                "storage_health", read=result.read, write=result.write, reason=result.reason
            )
        with self._lock:
            self._probed, self._probed_at, self._probe = result, self._clock(), None
        probe.finished.set()

    def _probe_once(self, probe: _Probe) -> DatabaseHealth:
        try:
            self._db.probe_read()
        except Exception as error:  # reads fail: so would writes
            probe.read = False
            return DatabaseHealth(read=False, write=False, reason=_reason(error))
        probe.read = True
        try:
            self._db.probe_write()
        except Exception as error:
            return DatabaseHealth(read=True, write=False, reason=_reason(error))
        return DatabaseHealth(read=True, write=True)
