"""Reconciliation: a sync run compares an integration's alerts with its provider's."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleetward.domain.alerts import AlertStatus
from fleetward.domain.integrations import API_PROVIDERS, POLL_MINUTES_DEFAULT, Integration


class SyncStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SyncTrigger(enum.StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncRun:
    """One reconciliation of one integration, and what it changed."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    integration_id: uuid.UUID
    trigger: SyncTrigger
    status: SyncStatus
    started_at: datetime
    lease_until: datetime
    finished_at: datetime | None = None
    created: int = 0  # triggers the webhook missed, now alerts
    resolved: int = 0  # local alerts the provider no longer has
    reevaluated: int = 0  # suppressed alerts whose window ended, still active
    unchanged: int = 0  # provider alerts already known here
    errors: int = 0  # alerts that failed on their own (the run went on)
    error: str | None = None  # why the run failed


@dataclass(slots=True)
class SyncCounts:
    """A run's counts, kept up as it goes (a run that fails records how far it got)."""

    created: int = 0
    resolved: int = 0
    reevaluated: int = 0
    unchanged: int = 0
    errors: int = 0

    def as_values(self) -> dict[str, int]:
        return {
            "created": self.created,
            "resolved": self.resolved,
            "reevaluated": self.reevaluated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


@dataclass(frozen=True, slots=True)
class LocalAlert:
    """What a sync needs of an alert Fleetward holds open (or suppressed)."""

    id: uuid.UUID
    series_key: str
    status: AlertStatus
    created_at: datetime
    # The occurrence it was made from, to match the provider's report by when the
    # series does not: a webhook without the provider's alert id (NinjaOne's
    # seriesUid, Tactical's alert_id) is held by a series of its own making.
    external_alert_id: str = ""
    device_external_id: str = ""
    condition_identity: str = ""
    occurred_at: datetime | None = None

    @property
    def occurrence(self) -> tuple[str, str, datetime | None]:
        """One problem at one moment: what a webhook and a poll of it agree on."""
        return (self.device_external_id, self.condition_identity, self.occurred_at)


def poll_enabled(integration: Integration) -> bool:
    return integration.settings.get("poll_enabled") is True


def poll_interval(integration: Integration) -> timedelta:
    minutes = integration.settings.get("poll_interval_minutes", POLL_MINUTES_DEFAULT)
    return timedelta(minutes=minutes if isinstance(minutes, int) else POLL_MINUTES_DEFAULT)


def due_for_poll(
    integrations: Iterable[Integration],
    last_started: Mapping[uuid.UUID, datetime],
    now: datetime,
) -> list[Integration]:
    """Enabled integrations with polling on whose last run started an interval ago or more."""
    due = []
    for integration in integrations:
        if not integration.enabled or not poll_enabled(integration):
            continue
        if integration.provider not in API_PROVIDERS:
            continue
        last = last_started.get(integration.id)
        if last is None or now - last >= poll_interval(integration):
            due.append(integration)
    return due
