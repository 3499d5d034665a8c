"""Attempts on another tenant's objects, recorded where the owner sees them, off the request path.

A request for an id its tenant does not hold answers 404 at once, and only hands
(who asked, what type, which id) to `CrossTenantProbes`. A thread of its own then
looks the id up across tenants; when another tenant owns it, the attempt goes
into the OWNING tenant's audit log (the actor is the prober, so the owner sees
who tried), a `fleetward.security` log line and a counter for the operators.

The prober learns nothing: its request does the same work for an id that exists
elsewhere as for one that exists nowhere (one put on a queue), its answer is the
same, and its own audit log gets nothing in either case. When the queue is full
the attempt is dropped and counted, never waited for.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from fleetward.domain.audit import CROSS_TENANT_ACCESS
from fleetward.domain.errors import NotFound
from fleetward.domain.identity import Principal
from fleetward.services.audit import actor_of, record
from fleetward.services.ports import Clock, Repositories, ScopedRows, UnitOfWork

log = structlog.get_logger("fleetward.security")

QUEUE_FULL = "queue_full"
FAILED = "failed"

RowsOf = Callable[[Repositories], ScopedRows[Any]]


@dataclass(frozen=True, slots=True)
class Probe:
    principal: Principal
    object_type: str
    object_id: uuid.UUID
    rows: RowsOf


class CrossTenantProbes:
    def __init__(self, uow: UnitOfWork, clock: Clock, capacity: int) -> None:
        self.uow = uow
        self.clock = clock
        self._queue: queue.Queue[Probe | None] = queue.Queue(capacity)
        # Probes reported and not yet handled, so drain() knows when it is done.
        self._pending = 0
        self._settled = threading.Condition()
        self._thread: threading.Thread | None = None
        # For the metrics: attempts recorded, by object type; probes lost, by reason.
        self._recorded: Counter[str] = Counter()
        self._dropped: Counter[str] = Counter()

    def missing(
        self, principal: Principal, object_type: str, object_id: uuid.UUID, rows: RowsOf
    ) -> NotFound:
        """The error for an object the caller's tenant does not hold; the lookup happens later."""
        self.report(Probe(principal, object_type, object_id, rows))
        return NotFound(f"{object_type} {object_id} not found")

    def report(self, probe: Probe) -> None:
        """Queue the probe for the thread; never blocks."""
        with self._settled:
            self._pending += 1
        try:
            self._queue.put_nowait(probe)
        except queue.Full:
            self._settle(QUEUE_FULL)

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Attempts recorded by object type, and probes dropped by reason, so far."""
        with self._settled:
            return dict(self._recorded), dict(self._dropped)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="cross-tenant-probes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Handle what is queued, then end the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join()

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every probe reported so far is handled (for tests and shutdown)."""
        if self._thread is None:
            # No thread (the CLI, an app that was never started): the caller does the work.
            while True:
                try:
                    probe = self._queue.get_nowait()
                except queue.Empty:
                    break
                if probe is not None:
                    self._handle(probe)
        with self._settled:
            if not self._settled.wait_for(lambda: self._pending == 0, timeout):
                raise TimeoutError(f"{self._pending} cross-tenant probes still queued")

    def _run(self) -> None:
        while (probe := self._queue.get()) is not None:
            self._handle(probe)

    def _handle(self, probe: Probe) -> None:
        try:
            self._record(probe)
        except Exception:
            log.exception("cross_tenant_probe_failed", object_type=probe.object_type)
            self._settle(FAILED)
        else:
            self._settle(None)

    def _settle(self, lost: str | None) -> None:
        with self._settled:
            if lost is not None:
                self._dropped[lost] += 1
            self._pending -= 1
            self._settled.notify_all()

    def _record(self, probe: Probe) -> None:
        prober = probe.principal
        with self.uow.read() as repos:
            owner = probe.rows(repos).owner_of(probe.object_id)
        # Missing everywhere, or the caller's own (a site under another of its
        # clients): a plain miss, not an attempt on another tenant.
        if owner is None or owner == prober.tenant_id:
            return
        actor = actor_of(prober)
        with self.uow.write() as repos:
            prober_tenant = repos.tenants.get(prober.tenant_id)
            record(
                repos,
                self.clock,
                owner,
                actor,
                CROSS_TENANT_ACCESS,
                probe.object_type,
                probe.object_id,
                after={
                    "reason": "another tenant asked for this object",
                    "tenant_id": str(prober.tenant_id),
                    "tenant": prober_tenant.name if prober_tenant else None,
                },
            )
        with self._settled:
            self._recorded[probe.object_type] += 1
        log.warning(
            CROSS_TENANT_ACCESS,
            object_type=probe.object_type,
            object_id=str(probe.object_id),
            owner_tenant_id=str(owner),
            prober_tenant_id=str(prober.tenant_id),
            actor_type=actor.type,
            actor_id=str(actor.id),
        )
