"""Pipeline A, lifecycle: resets and acknowledgements from the sender, and a
ticket closed by a person, carried to the alerts and tickets they concern."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from fleetward.domain.alerts import OPEN_STATUSES, Alert, AlertStatus, IngestResult, NormalizedEvent
from fleetward.domain.integrations import Integration
from fleetward.domain.tickets import StatusKind, Ticket, TicketActivity, may_auto_resolve
from fleetward.services import events
from fleetward.services.flapping import FlapProtection
from fleetward.services.ingest_alerts import (
    JobConfig,
    Outcome,
    asset_for,
    new_alert,
    system_comment,
)
from fleetward.services.ports import Clock, Repositories
from fleetward.services.provider_outbound import note_outbound
from fleetward.services.tenant_config import TenantView


class AlertLifecycle:
    """What happens to alerts after their trigger."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.flaps = FlapProtection()

    def reset(
        self,
        repos: Repositories,
        integration: Integration,
        event: NormalizedEvent,
        config: JobConfig,
    ) -> Outcome:
        if repos.receipts.seen(integration.id, "reset", event.external_alert_id):
            return Outcome(IngestResult.DUPLICATE, None)
        now = self.clock()
        repos.receipts.add(
            integration.tenant_id, integration.id, "reset", event.external_alert_id, now
        )
        alerts: list[Alert] = repos.alerts.open_in_series(integration.id, event.series_key)
        if not alerts:
            return self._unknown_reset(repos, config.view, integration, event, now)
        for alert in alerts:
            self._resolve(
                repos, alert, f"Alert reset at {event.provider.value}: {alert.title}", now
            )
            events.alert_changed(
                repos, alert, repos.alerts.get(alert.tenant_id, alert.id) or alert, now
            )
        return Outcome(IngestResult.RESOLVED, alerts[0].id)

    def resolve_gone(
        self, repos: Repositories, integration: Integration, alert_id: uuid.UUID
    ) -> bool:
        """An alert its provider no longer reports (a reset Fleetward missed, found by a
        sync): resolved as a reset would, with the ticket's comment and auto-resolve.
        False when it is no longer open (a reset or a person got there first)."""
        current = repos.alerts.get(integration.tenant_id, alert_id)
        if current is None or current.status not in (*OPEN_STATUSES, AlertStatus.SUPPRESSED):
            return False
        comment = (
            f"Alert no longer active at {integration.provider.value} "
            f"(found by a sync): {current.title}"
        )
        self._resolve(repos, current, comment, self.clock())
        return True

    def _resolve(self, repos: Repositories, alert: Alert, comment: str, now: datetime) -> None:
        if alert.status is AlertStatus.SUPPRESSED or alert.ticket_id is None:
            repos.alerts.set_status(alert.id, AlertStatus.RESOLVED, now, resolved=True)
            return
        repos.alerts.set_status(alert.id, AlertStatus.RESOLVED, now, resolved=True)
        ticket: Ticket | None = repos.tickets.get(alert.tenant_id, alert.ticket_id)
        if ticket is None or ticket.is_closed:
            return
        system_comment(repos, ticket, comment, now)
        rule = repos.rules.get(alert.tenant_id, alert.rule_id) if alert.rule_id else None
        if rule is None or not rule.actions.auto_resolve_ticket:
            return
        if self.flaps.holds_open(repos, ticket, now):
            return
        board = repos.boards.get(ticket.tenant_id, ticket.board_id)
        comments, entries = repos.tickets.activity(ticket.id)
        activity = TicketActivity(
            status_id=ticket.status_id,
            board_default_status_id=board.default_status_id if board else ticket.status_id,
            user_comments=comments,
            time_entries=entries,
            other_active_alerts=repos.alerts.count_open_on_ticket(ticket.id, [alert.id]),
        )
        if not may_auto_resolve(activity):
            system_comment(
                repos,
                ticket,
                "Left open: people have worked on this ticket or other alerts are still active.",
                now,
            )
            return
        closed_status = rule.actions.auto_resolve_status_id
        if closed_status is None:
            closed = [
                s
                for s in repos.statuses.of_board(ticket.tenant_id, ticket.board_id)
                if s.kind is StatusKind.CLOSED
            ]
            closed_status = closed[0].id if closed else None
        if closed_status is None:
            system_comment(repos, ticket, "Left open: the board has no closed status.", now)
            return
        repos.tickets.update(
            ticket.tenant_id,
            ticket.id,
            status_id=closed_status,
            is_closed=True,
            closed_at=now,
            auto_closed=True,
            updated_at=now,
        )
        repos.alerts.set_status(alert.id, AlertStatus.AUTO_RESOLVED, now, resolved=True)
        system_comment(
            repos,
            ticket,
            "Closed automatically: the alert reset and nobody had worked on the ticket.",
            now,
        )
        closed_ticket = dataclasses.replace(
            ticket, status_id=closed_status, is_closed=True, closed_at=now, updated_at=now
        )
        events.ticket_changed(repos, ticket, closed_ticket, now, by="auto_resolve")

    def _unknown_reset(
        self,
        repos: Repositories,
        view: TenantView,
        integration: Integration,
        event: NormalizedEvent,
        now: datetime,
    ) -> Outcome:
        """A reset for a series we never saw triggered: kept for the record, no ticket."""
        existing = repos.alerts.find(integration.id, event.external_alert_id)
        if existing is not None:  # the trigger of this occurrence was already resolved
            return Outcome(IngestResult.RESOLVED, existing)
        mapped = view.mapped_client(repos, integration.id, event.device.external_org_id)
        asset = asset_for(repos, integration, event, mapped, now)
        alert = new_alert(
            integration,
            event,
            asset,
            now,
            status=AlertStatus.RESOLVED,
            client_id=asset.client_id,
            resolved_at=now,
            trace={
                "lifecycle": "reset of a series never seen triggered: recorded without a ticket"
            },
        )
        repos.alerts.add(alert, event.raw)
        return Outcome(IngestResult.RECORDED, alert.id)

    def acknowledge(
        self, repos: Repositories, integration: Integration, event: NormalizedEvent
    ) -> Outcome:
        if repos.receipts.seen(integration.id, "acknowledged", event.external_alert_id):
            return Outcome(IngestResult.DUPLICATE, None)
        now = self.clock()
        repos.receipts.add(
            integration.tenant_id, integration.id, "acknowledged", event.external_alert_id, now
        )
        alerts = [
            a
            for a in repos.alerts.open_in_series(integration.id, event.series_key)
            if a.status is AlertStatus.ACTIVE
        ]
        for alert in alerts:
            repos.alerts.set_status(alert.id, AlertStatus.ACKNOWLEDGED, now)
            acknowledged = dataclasses.replace(
                alert, status=AlertStatus.ACKNOWLEDGED, updated_at=now
            )
            events.alert_changed(repos, alert, acknowledged, now)
            if alert.ticket_id is not None:
                ticket = repos.tickets.get(alert.tenant_id, alert.ticket_id)
                if ticket is not None and not ticket.is_closed:
                    system_comment(
                        repos,
                        ticket,
                        f"Alert acknowledged at {event.provider.value}: {alert.title}",
                        now,
                    )
        if not alerts:
            return Outcome(IngestResult.IGNORED, None)
        return Outcome(IngestResult.ACKNOWLEDGED, alerts[0].id)

    # Ticket closed by a person

    def ticket_closed(self, repos: Repositories, ticket: Ticket, now: datetime) -> list[Alert]:
        """Resolve the ticket's open alerts; return those whose rule wants a provider reset
        (an alert whose rule opted out says so in its trace)."""
        to_reset = []
        for alert in repos.alerts.on_ticket(ticket.tenant_id, ticket.id):
            if alert.status not in OPEN_STATUSES:
                continue
            repos.alerts.set_status(alert.id, AlertStatus.RESOLVED, now, resolved=True)
            resolved = dataclasses.replace(
                alert, status=AlertStatus.RESOLVED, resolved_at=now, updated_at=now
            )
            events.alert_changed(repos, alert, resolved, now)
            rule = repos.rules.get(alert.tenant_id, alert.rule_id) if alert.rule_id else None
            if rule is None or rule.actions.reset_alert_on_ticket_close:
                to_reset.append(resolved)
            else:
                note_outbound(
                    repos,
                    resolved,
                    "reset",
                    f"not reset: rule {rule.name!r} keeps the alert open at the provider",
                    now,
                )
        return to_reset
