"""Alerts from RMM tools, normalised to one shape whatever sent them."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from fleetward.domain.listing import Sort


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MODERATE = "moderate"
    MINOR = "minor"
    NONE = "none"


class EventKind(enum.StrEnum):
    TRIGGERED = "triggered"
    RESET = "reset"
    ACKNOWLEDGED = "acknowledged"


class AlertStatus(enum.StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    AUTO_RESOLVED = "auto_resolved"
    SUPPRESSED = "suppressed"


OPEN_STATUSES = frozenset({AlertStatus.ACTIVE, AlertStatus.ACKNOWLEDGED})


class IngestResult(enum.StrEnum):
    """What the webhook answers in `result`."""

    CREATED = "created"  # a new ticket was opened or an open one re-triggered
    DUPLICATE = "duplicate"  # this exact occurrence was seen before: nothing changed
    SUPPRESSED = "suppressed"  # inside a maintenance window
    RECORDED = "recorded"  # stored, but no rule asked for a ticket (or no client)
    IGNORED = "ignored"  # not an alert Fleetward acts on
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"


class Provider(enum.StrEnum):
    NINJAONE = "ninjaone"
    TACTICALRMM = "tacticalrmm"
    ALERTMANAGER = "alertmanager"
    GENERIC = "generic"
    # Fleetward's own agents (event-log watch matches): built in, one per tenant,
    # never created by people and never a webhook sender.
    AGENT = "agent"


# The providers that deliver alerts by webhook, and so the ones people may add.
WEBHOOK_PROVIDERS = frozenset(p for p in Provider if p is not Provider.AGENT)


@dataclass(frozen=True, slots=True)
class Device:
    external_id: str
    name: str = ""
    external_org_id: str | None = None


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    """One alert occurrence, or its reset or acknowledgement, from any provider."""

    provider: Provider
    kind: EventKind
    external_alert_id: str  # one occurrence: a replay carries the same id
    series_key: str  # pairs a reset with its trigger
    device: Device
    severity: Severity
    condition_identity: str  # what went wrong, stable across occurrences
    title: str
    message: str
    occurred_at: datetime
    activity_type: str = ""
    alert_class: str = ""
    source_type: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A payload that is valid but not something Fleetward acts on, and why."""

    reason: str


def dedup_key(client_id: uuid.UUID, device_external_id: str, condition_identity: str) -> str:
    """One open ticket per client, device and condition."""
    return f"{client_id}|{device_external_id}|{condition_identity}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One stored occurrence and where the pipeline took it.

    The API shows these fields (routers/alerts.py derives its models from them), the
    storage reads and writes them by name, and a new alert copies the ones that
    NormalizedEvent has too: a new field is this line, its column in storage/schema/pipeline.py
    and a migration (and, for a value the sender gives, the event's field of the same
    name). The defaults are what a new alert starts with until the pipeline decides
    otherwise.
    """

    id: uuid.UUID
    tenant_id: uuid.UUID
    integration_id: uuid.UUID
    provider: Provider
    external_alert_id: str
    series_key: str
    status: AlertStatus = AlertStatus.ACTIVE
    severity: Severity
    title: str
    message: str
    condition_identity: str
    activity_type: str
    alert_class: str
    source_type: str
    device_external_id: str
    device_name: str
    external_org_id: str | None
    asset_id: uuid.UUID | None
    client_id: uuid.UUID | None = None
    rule_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    trace: dict[str, Any] = field(default_factory=dict)
    # The last failed call to the provider about this alert (reset, acknowledge);
    # cleared when one succeeds. Each attempt is in trace["outbound"].
    outbound_error: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: uuid.UUID | None = None  # the user (an API key: its owner)


# The fields a new alert takes from its event as they are (provider, severity, title...).
FIELDS_FROM_EVENT = tuple(
    f.name for f in fields(Alert) if f.name in {e.name for e in fields(NormalizedEvent)}
)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    client_id: uuid.UUID | None = None
    integration_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    device: str | None = None  # external id or name, exact
    asset_id: uuid.UUID | None = None
    unmapped: bool = False  # recorded without a client (an organisation nobody mapped)
    external_org_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# What alert lists sort by; the default is newest arrival first (the API's order).
ALERT_SORTS = ("created_at", "occurred_at", "severity", "status", "title", "device")
ALERT_DEFAULT_SORT = Sort("created_at", descending=True)
# Worst first when sorted descending.
SEVERITY_RANK = {s: rank for rank, s in enumerate(reversed(Severity))}
