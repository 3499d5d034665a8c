"""Notifying people: the in-app row, and an outbox job per e-mail or chat copy.

`notify()` is the one way any part of Fleetward tells users something (the
trigger pipeline's `alert.matched`, flap protection's `alert.flapping`, ...). It
runs inside the caller's transaction: the notification rows and their delivery
jobs commit with the change that caused them, or not at all. The JobRunner then
sends each copy (services/notification_center.py) and retries it with backoff;
its jobs, with their attempts and last error, show on the notification.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from fleetward.domain.alerts import NormalizedEvent
from fleetward.domain.ids import new_id
from fleetward.domain.jobs import NewJob
from fleetward.domain.notifications import (
    ALERT_MATCHED,
    JOB_KINDS,
    MAX_BODY,
    MAX_TITLE,
    REF_TYPE,
    TICKET_RETRIGGERED,
    Channel,
    Notification,
    cut,
    effective,
    one_line,
    wants,
)
from fleetward.domain.rules import AlertRule
from fleetward.domain.tickets import Ticket
from fleetward.services.ports import Repositories


def notify(
    repos: Repositories,
    tenant_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    kind: str,
    title: str,
    body: str,
    ref_type: str | None,
    ref_id: uuid.UUID | None,
    now: datetime,
) -> list[uuid.UUID]:
    """Notify each user (of this tenant, not disabled) on the channels their preferences
    give `kind`; the ids of the notifications written. Call it inside the transaction of
    the change it tells of.

    A user whose in-app channel does not carry `kind` but another channel does still
    gets the row, already read: the e-mail or chat copy's delivery shows on it.
    """
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    stored = repos.notification_preferences.of_users(tenant_id, wanted)
    title = one_line(title, MAX_TITLE)
    body = cut(body, MAX_BODY)
    written = []
    for user_id in wanted:
        user = repos.users.get(tenant_id, user_id)
        if user is None or user.disabled:
            continue
        preferences = effective(stored.get(user_id, {}))
        channels = [channel for channel, p in preferences.items() if wants(p, kind)]
        if not channels:
            continue
        notification = Notification(
            id=new_id(),
            tenant_id=tenant_id,
            user_id=user_id,
            kind=kind,
            title=title,
            body=body,
            ref_type=ref_type,
            ref_id=ref_id,
            created_at=now,
            read_at=None if Channel.IN_APP in channels else now,
        )
        repos.notifications.insert(notification)
        for channel in channels:
            job_kind = JOB_KINDS.get(channel)
            if job_kind is None:
                continue
            repos.jobs.enqueue(
                NewJob(
                    tenant_id,
                    job_kind,
                    {"notification_id": str(notification.id), "channel": channel.value},
                    key=f"{notification.id}:{channel.value}",
                    ref_type=REF_TYPE,
                    ref_id=notification.id,
                ),
                now,
            )
        written.append(notification.id)
    return written


def notify_rule_users(
    repos: Repositories,
    rule: AlertRule,
    event: NormalizedEvent,
    client_id: uuid.UUID | None,
    ticket: Ticket | None,
    now: datetime,
    alert_id: uuid.UUID | None = None,
) -> None:
    """Tell the users a matching rule names of a new alert: the ticket it opened
    (`alert.matched`) or re-triggered (`ticket.retriggered`, `ticket` as counted now), or,
    for a rule that opens none, the alert itself (`alert.matched`, linked by `alert_id`)."""
    if not rule.actions.notify_user_ids:
        return
    tenant_id = rule.tenant_id
    client = repos.clients.get(tenant_id, client_id) if client_id else None
    device = event.device.name or event.device.external_id
    severity = event.severity.value
    title = f"[{severity}] {device}: {event.title}"
    kind, ref_type, ref_id = ALERT_MATCHED, "alert", alert_id
    if ticket is None:
        outcome = "No ticket: the rule records the alert only."
    else:
        title = f"#{ticket.number} {title}"
        ref_type, ref_id = "ticket", ticket.id
        if ticket.occurrence_count > 1:
            kind = TICKET_RETRIGGERED
            outcome = f"Ticket #{ticket.number} re-triggered: occurrence {ticket.occurrence_count}."
        else:
            outcome = f"Ticket #{ticket.number} opened: {ticket.title}"
    body = "\n".join(
        [
            f"Device: {device}",
            f"Client: {client.name if client else '-'}",
            f"Severity: {severity}",
            f"Rule: {rule.name}",
            outcome,
            "",
            event.message or event.title,
        ]
    )
    users = rule.actions.notify_user_ids
    notify(repos, tenant_id, users, kind, title, body, ref_type, ref_id, now)
