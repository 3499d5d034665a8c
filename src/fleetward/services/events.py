"""Domain events: what changed on an alert or a ticket, written with the change.

Call `alert_changed` or `ticket_changed` in the transaction that makes the
change, with the object as it was before (None for a new one) and as it is
after; they decide which event the change is, if any, and write it to the
domain_event outbox (docs/webhooks.md lists the types and their JSON). A
dispatcher (services/webhook_subscriptions.py) turns the rows into deliveries
after the commit, so an event exists exactly when its change does.

Suppressed alerts emit nothing: not when they are stored, and not when a reset
resolves them. Nobody was told of them, so nobody is told they ended either;
an alert re-evaluated out of suppression into an active one is `alert.triggered`
at that moment.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from fleetward.domain.alerts import Alert, AlertStatus
from fleetward.domain.tickets import Ticket
from fleetward.domain.webhook_events import EventType
from fleetward.services.ports import Repositories

_RESOLVED = frozenset({AlertStatus.RESOLVED, AlertStatus.AUTO_RESOLVED})

# The alert's fields an event carries, always all of them (None when unset), so a
# receiver sees one shape per type. acknowledged_at/_by are read with getattr: the
# alert actions (issue #15 part 4) add them to the Alert dataclass.
ALERT_FIELDS = (
    "id",
    "status",
    "severity",
    "title",
    "message",
    "provider",
    "integration_id",
    "external_alert_id",
    "device_external_id",
    "device_name",
    "external_org_id",
    "asset_id",
    "client_id",
    "rule_id",
    "ticket_id",
    "occurred_at",
    "created_at",
    "updated_at",
    "resolved_at",
    "acknowledged_at",
    "acknowledged_by",
)
TICKET_FIELDS = (
    "id",
    "number",
    "title",
    "description",
    "board_id",
    "status_id",
    "priority_id",
    "assignee_id",
    "client_id",
    "occurrence_count",
    "is_closed",
    "created_at",
    "updated_at",
    "closed_at",
)
# What `changes` of ticket.updated may name (a field people or the pipeline change).
_TICKET_CHANGES = tuple(f for f in TICKET_FIELDS if f not in ("id", "number", "created_at"))


def _plain(value: Any) -> Any:
    """A field as JSON: ids and enums as strings, times as ISO 8601."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def alert_document(alert: Alert) -> dict[str, Any]:
    return {name: _plain(getattr(alert, name, None)) for name in ALERT_FIELDS}


def ticket_document(ticket: Ticket) -> dict[str, Any]:
    return {name: _plain(getattr(ticket, name)) for name in TICKET_FIELDS}


def _write(
    repos: Repositories, tenant_id: uuid.UUID, type_: EventType, data: dict[str, Any], at: datetime
) -> None:
    repos.events.add(tenant_id, type_.value, data, at)


def alert_changed(repos: Repositories, before: Alert | None, after: Alert, at: datetime) -> None:
    """Write the event this change of an alert is: triggered (new, or out of
    suppression), resolved or acknowledged; nothing for any other change, and
    nothing for a suppressed alert."""
    was = before.status if before is not None else None
    now = after.status
    if was is AlertStatus.SUPPRESSED and now in _RESOLVED:
        return
    if now is AlertStatus.SUPPRESSED or now == was:
        return
    if now is AlertStatus.ACTIVE and was in (None, AlertStatus.SUPPRESSED):
        type_ = EventType.ALERT_TRIGGERED
    elif now is AlertStatus.ACKNOWLEDGED and was in (None, AlertStatus.ACTIVE):
        type_ = EventType.ALERT_ACKNOWLEDGED
    elif now in _RESOLVED and was not in _RESOLVED and before is not None:
        type_ = EventType.ALERT_RESOLVED
    else:
        return  # e.g. resolved -> auto_resolved, or recorded resolved without a trigger
    _write(repos, after.tenant_id, type_, {"alert": alert_document(after)}, at)


def ticket_changed(
    repos: Repositories, before: Ticket | None, after: Ticket, at: datetime, by: str = "user"
) -> None:
    """Write ticket.created (before is None), ticket.closed (it closed) or
    ticket.updated (any other change: `changes` names the fields, a reopening
    included). `by` says who: "user", "alert" (the pipeline) or "auto_resolve"."""
    data: dict[str, Any] = {"ticket": ticket_document(after), "by": by}
    if before is None:
        type_ = EventType.TICKET_CREATED
    elif after.is_closed and not before.is_closed:
        type_ = EventType.TICKET_CLOSED
    else:
        changes = [f for f in _TICKET_CHANGES if getattr(before, f) != getattr(after, f)]
        changes = [f for f in changes if f != "updated_at"]
        if not changes:
            return
        type_ = EventType.TICKET_UPDATED
        data["changes"] = changes
    _write(repos, after.tenant_id, type_, data, at)
