"""What people do to alerts: acknowledge, resolve, open a ticket, one or many at once;
and the triage of alerts recorded without a client.

Operators and admins act; read-only users get 403. Each action is idempotent
(acknowledging an acknowledged alert changes nothing and is no error), audited
when it changes something, and written under the tenant lock like every ticket
write (services/tickets.py), since it may comment on or open a ticket. A call
to the alert's provider (acknowledge) is an outbox job written in the same
transaction (provider_outbound.py).

Resolving by hand does not reset the alert at its provider: a person resolving
one alert says Fleetward is done with it, not that the device is healthy (the
provider would raise it again, or reconciliation would see it still active).
Closing the ticket is the act that resets, as the rule's
`reset_alert_on_ticket_close` decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from fleetward.domain.alerts import OPEN_STATUSES, Alert, AlertFilter, AlertStatus
from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Access, Principal
from fleetward.domain.integrations import Asset, Integration
from fleetward.domain.jobs import Job
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.services import events
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ingest_alerts import JobConfig, system_comment
from fleetward.services.ports import Clock, Repositories, UnitOfWork
from fleetward.services.provider_outbound import enqueue_acknowledge
from fleetward.services.resources import ScopedResource
from fleetward.services.tenant_config import TenantView

BULK_MAX = 500  # ids in one bulk request: one transaction, bounded
REPROCESS_MAX = 1000  # alerts one reprocess runs; the answer says how many remain
BULK_ACTIONS = ("acknowledge", "resolve", "ticket")


@dataclass(frozen=True, slots=True)
class BulkResult:
    alert_id: uuid.UUID
    # "acknowledged", "resolved", "ticketed" (it has a ticket now, opened or joined),
    # "unchanged", "not_found", "conflict" (refused: `message` says why)
    result: str
    status: AlertStatus | None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Reprocessed:
    """What one reprocess did: alerts run, by the trigger's result (created,
    suppressed, recorded), those still without a client, and whether more are left
    (more than REPROCESS_MAX: run it again)."""

    alerts: int
    results: dict[str, int]
    still_unmapped: int
    more: bool


Action = Callable[[Repositories, Principal, Alert, datetime], Alert]


class AlertActions:
    def __init__(
        self, uow: UnitOfWork, clock: Clock, probes: CrossTenantProbes, pipeline: AlertPipeline
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.pipeline = pipeline
        self.alerts = ScopedResource[Alert](uow, clock, probes, "alert", lambda r: r.alerts)
        self.assets = ScopedResource[Asset](uow, clock, probes, "asset", lambda r: r.assets)
        self._actions: dict[str, Action] = {
            "acknowledge": self._acknowledge,
            "resolve": self._resolve,
            "ticket": self._open_ticket,
        }

    # One alert

    def acknowledge(self, principal: Principal, alert_id: uuid.UUID) -> Alert:
        return self._one(principal, alert_id, "acknowledge")

    def resolve(self, principal: Principal, alert_id: uuid.UUID) -> Alert:
        return self._one(principal, alert_id, "resolve")

    def open_ticket(self, principal: Principal, alert_id: uuid.UUID) -> Alert:
        """409 when the alert has a ticket already, or no client to open one for."""
        return self._one(principal, alert_id, "ticket")

    def _one(self, principal: Principal, alert_id: uuid.UUID, action: str) -> Alert:
        principal.require(Access.WRITE)
        with self.uow.write() as repos:
            repos.tenants.lock(principal.tenant_id)
            alert = repos.alerts.get(principal.tenant_id, alert_id)
            if alert is not None:
                return self._actions[action](repos, principal, alert, self.clock())
        raise self.alerts.missing(principal, alert_id)

    def outbound(self, principal: Principal, alert_id: uuid.UUID) -> list[Job]:
        """The jobs that call the alert's provider about it, newest first."""
        self.alerts.get(principal, alert_id)
        with self.uow.read() as repos:
            return repos.jobs.about(principal.tenant_id, "alert", alert_id)

    # Many alerts

    def bulk(
        self, principal: Principal, alert_ids: Sequence[uuid.UUID], action: str
    ) -> list[BulkResult]:
        """One transaction; each id answered on its own (another tenant's id: not_found)."""
        principal.require(Access.WRITE)
        if action not in BULK_ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(BULK_ACTIONS)}", field="action")
        if not alert_ids:
            raise InvalidInput("alert_ids must name at least one alert", field="alert_ids")
        if len(alert_ids) > BULK_MAX:
            raise InvalidInput(f"alert_ids may name at most {BULK_MAX} alerts", field="alert_ids")
        ids = list(dict.fromkeys(alert_ids))
        results: list[BulkResult] = []
        missing: list[uuid.UUID] = []
        with self.uow.write() as repos:
            repos.tenants.lock(principal.tenant_id)
            now = self.clock()
            for alert_id in ids:
                alert = repos.alerts.get(principal.tenant_id, alert_id)
                if alert is None:
                    missing.append(alert_id)
                    results.append(BulkResult(alert_id, "not_found", None, "alert not found"))
                    continue
                try:
                    # Each action checks before it writes: a refusal leaves nothing behind.
                    after = self._actions[action](repos, principal, alert, now)
                except Conflict as refused:
                    results.append(BulkResult(alert_id, "conflict", alert.status, refused.message))
                    continue
                if after == alert:
                    done = "unchanged"
                else:
                    done = "ticketed" if action == "ticket" else after.status.value
                results.append(BulkResult(alert_id, done, after.status))
        for alert_id in missing:  # after the commit: the probe queue audits the owner's log
            self.alerts.missing(principal, alert_id)
        return results

    # The actions: check, then write; a no-op when already done

    def _acknowledge(
        self, repos: Repositories, principal: Principal, alert: Alert, now: datetime
    ) -> Alert:
        if alert.status is AlertStatus.ACKNOWLEDGED:
            return alert
        if alert.status is not AlertStatus.ACTIVE:
            raise Conflict(
                f"the alert is {alert.status.value}: only an active alert is acknowledged"
            )
        after = replace(
            alert,
            status=AlertStatus.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=principal.user_id,
            updated_at=now,
        )
        repos.alerts.update(
            alert.tenant_id,
            alert.id,
            status=after.status.value,
            acknowledged_at=now,
            acknowledged_by=principal.user_id,
            updated_at=now,
        )
        self._comment(repos, alert, f"Alert acknowledged by {principal.label}: {alert.title}", now)
        events.alert_changed(repos, alert, after, now)
        self._audit(repos, principal, "alert.acknowledge", alert, after)
        enqueue_acknowledge(repos, after, now)
        return after

    def _resolve(
        self, repos: Repositories, principal: Principal, alert: Alert, now: datetime
    ) -> Alert:
        if alert.status not in (*OPEN_STATUSES, AlertStatus.SUPPRESSED):
            return alert  # resolved already, by a reset, a close or a person
        after = replace(alert, status=AlertStatus.RESOLVED, resolved_at=now, updated_at=now)
        repos.alerts.set_status(alert.id, AlertStatus.RESOLVED, now, resolved=True)
        self._comment(repos, alert, f"Alert resolved by {principal.label}: {alert.title}", now)
        events.alert_changed(repos, alert, after, now)
        self._audit(repos, principal, "alert.resolve", alert, after)
        return after

    def _open_ticket(
        self, repos: Repositories, principal: Principal, alert: Alert, now: datetime
    ) -> Alert:
        if alert.ticket_id is not None:
            raise Conflict(
                f"the alert has a ticket already (ticket_id {alert.ticket_id})", field="ticket_id"
            )
        if alert.client_id is None:
            raise Conflict(
                "the alert has no client_id: map its organisation (triage) before opening a ticket",
                field="client_id",
            )
        self.pipeline.open_ticket(repos, alert, now)
        after = repos.alerts.get(alert.tenant_id, alert.id)
        assert after is not None
        self._audit(repos, principal, "alert.open_ticket", alert, after)
        return after

    def _comment(self, repos: Repositories, alert: Alert, body: str, now: datetime) -> None:
        if alert.ticket_id is None:
            return
        ticket = repos.tickets.get(alert.tenant_id, alert.ticket_id)
        if ticket is not None and not ticket.is_closed:
            system_comment(repos, ticket, body, now)

    def _audit(
        self, repos: Repositories, principal: Principal, action: str, before: Alert, after: Alert
    ) -> None:
        fields = ("status", "acknowledged_at", "acknowledged_by", "resolved_at", "ticket_id")
        record(
            repos,
            self.clock,
            principal.tenant_id,
            actor_of(principal),
            action,
            "alert",
            before.id,
            before={f: _plain(getattr(before, f)) for f in fields},
            after={f: _plain(getattr(after, f)) for f in fields},
        )

    def asset_history(
        self, principal: Principal, asset_id: uuid.UUID, limit: int | None, cursor: str | None
    ) -> Page[Alert]:
        """Every alert of one device, newest first."""
        self.assets.get(principal, asset_id)
        with self.uow.read() as repos:
            return repos.alerts.search(
                principal.tenant_id, AlertFilter(asset_id=asset_id), clamp_limit(limit), cursor
            )

    # Triage: alerts recorded without a client

    def triage(
        self,
        principal: Principal,
        integration_id: uuid.UUID | None,
        external_org_id: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Alert]:
        """Newest first: open alerts of organisations no mapping or default names."""
        principal.require(self.alerts.read_access)
        where = AlertFilter(
            statuses=tuple(s.value for s in OPEN_STATUSES),
            integration_id=integration_id,
            external_org_id=external_org_id,
            unmapped=True,
        )
        with self.uow.read() as repos:
            return repos.alerts.search(principal.tenant_id, where, clamp_limit(limit), cursor)

    def reprocess(
        self, principal: Principal, integration: Integration, external_org_id: str
    ) -> Reprocessed:
        """Run the open unmapped alerts of one organisation through windows and rules
        again (after its mapping was added), oldest first: one ticket per dedup key.
        `integration` is the caller's own (checked by the caller, with its 404)."""
        principal.require(Access.WRITE)
        with self.uow.write() as repos:
            tenant_id = principal.tenant_id
            repos.tenants.lock(tenant_id)
            where = AlertFilter(
                statuses=tuple(s.value for s in OPEN_STATUSES),
                integration_id=integration.id,
                external_org_id=external_org_id,
                unmapped=True,
            )
            searched = repos.alerts.search(tenant_id, where, REPROCESS_MAX, None)
            found, more = searched.items, searched.next
            config = JobConfig(TenantView(tenant_id, None))
            now = self.clock()
            results: dict[str, int] = {}
            unmapped = 0
            for alert in reversed(found):  # search is newest first
                outcome = self.pipeline.reprocess(repos, integration, alert, config, now)
                if outcome is None:
                    unmapped += 1
                else:
                    results[outcome.value] = results.get(outcome.value, 0) + 1
            record(
                repos,
                self.clock,
                tenant_id,
                actor_of(principal),
                "alert.reprocess",
                "integration",
                integration.id,
                after={"external_org_id": external_org_id, "alerts": len(found), **results},
            )
        return Reprocessed(len(found), results, unmapped, more is not None)


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID | AlertStatus):
        return str(value)
    return value
