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

from fleetward.domain.alerts import (
    Alert,
    AlertStatus,
    EventKind,
    Ignored,
    IngestResult,
    NormalizedEvent,
    dedup_key,
)
from fleetward.domain.ids import new_id
from fleetward.domain.integrations import Integration
from fleetward.domain.rules import AlertRule
from fleetward.domain.tickets import Ticket
from fleetward.domain.triggers import TicketPlan, Verdict
from fleetward.services.ingest_alerts import (
    JobConfig,
    Outcome,
    SeenOccurrences,
    TriggerIngest,
    event_of,
)
from fleetward.services.lifecycle import AlertLifecycle
from fleetward.services.ports import Clock, Repositories, UnitOfWork
from fleetward.services.tenant_config import TenantView, TenantViews


class AlertPipeline:
    def __init__(self, uow: UnitOfWork, clock: Clock, base_url: str = "") -> None:
        self.uow = uow
        self.clock = clock
        self._seen = SeenOccurrences()
        self._views = TenantViews()
        self._triggers = TriggerIngest(clock, base_url)
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

    # People acting on stored alerts (services/alert_actions.py): the trigger's own
    # ticket path, so dedup and a new ticket's defaults are the ones ingest uses.

    def open_ticket(self, repos: Repositories, alert: Alert, now: datetime) -> uuid.UUID:
        """The open ticket under the alert's dedup key (re-triggered), else a new one.

        The alert must have a client. Its rule's ticket settings apply, or the
        defaults when no rule matched it (a person asked for the ticket).
        """
        assert alert.client_id is not None
        tenant_id = alert.tenant_id
        integration = repos.integrations.get(tenant_id, alert.integration_id)
        assert integration is not None  # an integration's alerts are deleted with it
        rule = repos.rules.get(tenant_id, alert.rule_id) if alert.rule_id else None
        rule = rule or AlertRule(new_id(), tenant_id, "opened by a person", True, 0)
        asset = repos.assets.get(tenant_id, alert.asset_id) if alert.asset_id else None
        key = dedup_key(alert.client_id, alert.device_external_id, alert.condition_identity)
        trace = dict(alert.trace)
        config = JobConfig(TenantView(tenant_id, None))
        ticket_id = self._triggers.dedup_or_open(
            repos,
            config,
            integration,
            event_of(alert),
            asset,
            TicketPlan(rule, alert.client_id, key),
            now,
            trace,
        )
        repos.alerts.update(tenant_id, alert.id, ticket_id=ticket_id, trace=trace, updated_at=now)
        return ticket_id

    def reprocess(
        self,
        repos: Repositories,
        integration: Integration,
        alert: Alert,
        config: JobConfig,
        now: datetime,
    ) -> IngestResult | None:
        """Run an alert recorded without a client through windows and rules again,
        as its trigger would run now (after its organisation was mapped); None
        when it still has no client (nothing changed)."""
        view = config.view
        event = event_of(alert)
        asset = repos.assets.get(alert.tenant_id, alert.asset_id) if alert.asset_id else None
        mapped = view.mapped_client(repos, integration.id, alert.external_org_id)
        decision, ticket_id = self._triggers.decide_again(
            repos, config, integration, event, asset, mapped, now
        )
        if decision.verdict is Verdict.UNRESOLVED:
            return None
        trace = decision.trace
        trace["reprocessed"] = (
            f"{now.isoformat()}: run through the rules again once its client was known"
        )
        if "outbound" in alert.trace:
            trace["outbound"] = alert.trace["outbound"]
        rule = decision.rule
        status = decision.status
        if status is AlertStatus.ACTIVE:
            status = alert.status  # someone may have acknowledged it meanwhile
        repos.alerts.update(
            alert.tenant_id,
            alert.id,
            status=status.value,
            client_id=decision.client_id,
            rule_id=rule.id if rule else None,
            ticket_id=ticket_id,
            trace=trace,
            updated_at=now,
        )
        return decision.result
