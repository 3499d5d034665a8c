"""Pipeline A: a normalised event becomes an alert, and maybe a ticket.

The façade the entrypoints and other services use: it runs each request as
one write job (ingest_alerts.py for triggers, lifecycle.py for resets and
acknowledgements), keeps what this process has committed for replays, and
the tenants' pipeline configuration per config version.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from fleetward.domain.alerts import Alert, EventKind, Ignored, IngestResult, NormalizedEvent
from fleetward.domain.integrations import Integration
from fleetward.domain.tickets import Ticket
from fleetward.services.ingest_alerts import JobConfig, Outcome, SeenOccurrences, TriggerIngest
from fleetward.services.lifecycle import AlertLifecycle
from fleetward.services.ports import Clock, Repositories, UnitOfWork
from fleetward.services.tenant_config import TenantView, TenantViews


class AlertPipeline:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock
        self._seen = SeenOccurrences()
        self._views = TenantViews()
        self._triggers = TriggerIngest(clock)
        self._lifecycle = AlertLifecycle(clock)

    # Entry points

    def ingest(
        self, integration: Integration, items: list[NormalizedEvent | Ignored]
    ) -> list[Outcome]:
        job, built = self._ingest_job(integration, items)
        outcomes = self.uow.run_write(job)
        return self._committed(integration, items, built, outcomes)

    async def ingest_async(
        self, integration: Integration, items: list[NormalizedEvent | Ignored]
    ) -> list[Outcome]:
        """ingest() for the event loop: the same job, awaited without holding a thread."""
        job, built = self._ingest_job(integration, items)
        outcomes = await self.uow.run_write_async(job)
        return self._committed(integration, items, built, outcomes)

    def _ingest_job(
        self, integration: Integration, items: list[NormalizedEvent | Ignored]
    ) -> tuple[Callable[[Repositories], list[Outcome]], list[TenantView]]:
        """One job for the writer, which may commit it with other requests' jobs.

        (Replays of what this process committed never get here: see
        known_in_memory. Others find their alert inside the job, a cheap read.)
        `built` collects the tenant views the job loaded.
        """
        built: list[TenantView] = []

        def job(repos: Repositories) -> list[Outcome]:
            built.clear()  # a job run again (group_commit.py) starts afresh
            config = JobConfig(self._views.current(repos, integration.tenant_id, built))
            return [self._one(repos, integration, item, config) for item in items]

        return job, built

    def _committed(
        self,
        integration: Integration,
        items: list[NormalizedEvent | Ignored],
        built: list[TenantView],
        outcomes: list[Outcome],
    ) -> list[Outcome]:
        # Only now, committed, may a replay be answered from memory, and what
        # the job loaded be reused by others.
        self._views.publish(built)
        self._seen.remember(integration.id, items, outcomes)
        return outcomes

    def known_in_memory(
        self, integration_id: uuid.UUID, items: list[NormalizedEvent | Ignored]
    ) -> list[Outcome] | None:
        """Answers for a replay of occurrences this process has committed, else None."""
        return self._seen.answers(integration_id, items)

    def dry_run(
        self, integration: Integration, event: NormalizedEvent
    ) -> tuple[IngestResult, dict[str, Any]]:
        """Windows and rules for a sample event, with nothing stored (rolled back)."""
        built: list[TenantView] = []
        with self.uow.read() as repos:
            view = self._views.current(repos, integration.tenant_id, built)
            answer = self._triggers.dry_run(repos, view, integration, event)
        self._views.publish(built)  # read from committed data only
        return answer

    def _one(
        self,
        repos: Repositories,
        integration: Integration,
        item: NormalizedEvent | Ignored,
        config: JobConfig,
    ) -> Outcome:
        if isinstance(item, Ignored):
            return Outcome(IngestResult.IGNORED, None)
        if item.kind is EventKind.TRIGGERED:
            return self._triggers.trigger(repos, integration, item, config)
        if item.kind is EventKind.RESET:
            return self._lifecycle.reset(repos, integration, item, config)
        return self._lifecycle.acknowledge(repos, integration, item)

    # Reconciliation (services/reconciliation.py): each call one write job

    def resolve_gone(self, integration: Integration, alert_ids: Sequence[uuid.UUID]) -> list[bool]:
        """Resolve alerts the provider no longer reports, as resets would; per alert,
        whether it was still open."""

        def job(repos: Repositories) -> list[bool]:
            return [self._lifecycle.resolve_gone(repos, integration, i) for i in alert_ids]

        return self.uow.run_write(job)

    def reevaluate(
        self,
        integration: Integration,
        groups: Sequence[tuple[Sequence[uuid.UUID], NormalizedEvent]],
    ) -> list[int]:
        """Suppressed alerts (per series, with the provider's event) decided again now
        that their window may have ended; per series, how many left `suppressed`."""
        built: list[TenantView] = []

        def job(repos: Repositories) -> list[int]:
            built.clear()
            config = JobConfig(self._views.current(repos, integration.tenant_id, built))
            return [
                self._triggers.reevaluate(repos, integration, ids, event, config)
                for ids, event in groups
            ]

        changed = self.uow.run_write(job)
        self._views.publish(built)
        return changed

    # Ticket closed by a person

    def ticket_closed(self, repos: Repositories, ticket: Ticket, now: datetime) -> list[Alert]:
        """Resolve the ticket's open alerts; return those whose rule wants a provider reset."""
        return self._lifecycle.ticket_closed(repos, ticket, now)
