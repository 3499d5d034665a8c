"""Pipeline A (adapters/storage/: integration_, alert_, rule_, ticket_ and
sync_repositories.py) and the providers' APIs (adapters/providers/)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from fleetward.domain.alerts import Alert, AlertFilter, AlertStatus, NormalizedEvent
from fleetward.domain.flapping import FlapState
from fleetward.domain.integrations import (
    Asset,
    Integration,
    OrgMapping,
    SealedCredentials,
)
from fleetward.domain.listing import Sort
from fleetward.domain.maintenance import MaintenanceWindow
from fleetward.domain.pagination import Page
from fleetward.domain.rules import AlertRule
from fleetward.domain.sync import LocalAlert, SyncRun, SyncStatus
from fleetward.domain.tickets import Board, Priority, Ticket, TicketStatus
from fleetward.services.ports.base import ScopedRows


class Integrations(ScopedRows[Integration], Protocol):
    def add(
        self,
        integration: Integration,
        webhook_secret: str,
        credentials: SealedCredentials | None = None,
    ) -> Integration: ...
    def for_webhook(self, integration_id: uuid.UUID) -> tuple[Integration, str] | None:
        """Any tenant's integration with its sealed secret: the URL names it."""
        ...

    def sealed_secrets(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]: ...
    def set_secret(self, tenant_id: uuid.UUID, integration_id: uuid.UUID, secret: str) -> None: ...
    def sealed_credentials(
        self, tenant_id: uuid.UUID, integration_id: uuid.UUID
    ) -> SealedCredentials | None: ...
    def credential_names(
        self, tenant_id: uuid.UUID, integration_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[str, ...]]: ...
    def all_sealed_credentials(self) -> list[tuple[uuid.UUID, uuid.UUID, SealedCredentials]]: ...
    def set_credentials(
        self,
        tenant_id: uuid.UUID,
        integration_id: uuid.UUID,
        credentials: SealedCredentials | None,
    ) -> None: ...
    def last_received(
        self, tenant_id: uuid.UUID, integration_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, datetime]: ...


class OrgMappings(ScopedRows[OrgMapping], Protocol):
    def client_for(
        self, integration_id: uuid.UUID, external_org_id: str | None
    ) -> uuid.UUID | None: ...


class Assets(ScopedRows[Asset], Protocol):
    def by_device(self, integration_id: uuid.UUID, external_device_id: str) -> Asset | None: ...


class Alerts(ScopedRows[Alert], Protocol):
    def add(self, alert: Alert, raw: dict[str, Any]) -> None: ...
    def find(self, integration_id: uuid.UUID, external_alert_id: str) -> uuid.UUID | None:
        """The id of the alert of this occurrence, if it was ingested."""
        ...

    def open_in_series(self, integration_id: uuid.UUID, series_key: str) -> list[Alert]:
        """Open and suppressed alerts of the series, oldest first."""
        ...

    def set_status(
        self, alert_id: uuid.UUID, status: AlertStatus, at: datetime, resolved: bool = False
    ) -> None: ...
    def count_open_on_ticket(self, ticket_id: uuid.UUID, excluding: Sequence[uuid.UUID]) -> int: ...
    def search(
        self,
        tenant_id: uuid.UUID,
        where: AlertFilter,
        limit: int,
        cursor: str | None,
        sort: Sort = ...,
        count: bool = False,
    ) -> Page[Alert]:
        """In `sort` order (default: newest arrival first); `count` fills the total."""
        ...

    def on_ticket(self, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> list[Alert]: ...


class Receipts(Protocol):
    """Resets and acknowledgements already taken (kind: "reset" or "acknowledged")."""

    def seen(self, integration_id: uuid.UUID, kind: str, external_id: str) -> bool: ...
    def add(
        self,
        tenant_id: uuid.UUID,
        integration_id: uuid.UUID,
        kind: str,
        external_id: str,
        at: datetime,
    ) -> None: ...


class Rules(ScopedRows[AlertRule], Protocol):
    def ordered(self, tenant_id: uuid.UUID) -> list[AlertRule]: ...
    def next_position(self, tenant_id: uuid.UUID) -> int: ...
    def save(self, rule: AlertRule, at: datetime, created: bool) -> None: ...


class Windows(ScopedRows[MaintenanceWindow], Protocol):
    def save(self, window: MaintenanceWindow, at: datetime, created: bool) -> None: ...
    def all(self, tenant_id: uuid.UUID) -> list[MaintenanceWindow]: ...


class Tickets(ScopedRows[Ticket], Protocol):
    def open_by_key(self, tenant_id: uuid.UUID, key: str) -> Ticket | None: ...
    def latest_by_key(self, tenant_id: uuid.UUID, key: str) -> Ticket | None:
        """The key's open ticket, else its most recently closed one, else None."""
        ...

    def next_number(self, tenant_id: uuid.UUID) -> int: ...
    def bump_occurrence(self, ticket_id: uuid.UUID, at: datetime) -> int:
        """Count one more occurrence on the ticket; the new count."""
        ...

    def activity(self, ticket_id: uuid.UUID) -> tuple[int, int]:
        """(user comments, time entries) on the ticket."""
        ...

    def search(
        self,
        tenant_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        sort: Sort = ...,
        count: bool = False,
        unassigned: bool = False,
        **where: Any,
    ) -> Page[Ticket]: ...
    def alert_ids(
        self, tenant_id: uuid.UUID, ticket_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[uuid.UUID]]: ...


class Boards(ScopedRows[Board], Protocol):
    def first(self, tenant_id: uuid.UUID) -> Board | None: ...


class Statuses(ScopedRows[TicketStatus], Protocol):
    def of_board(self, tenant_id: uuid.UUID, board_id: uuid.UUID) -> list[TicketStatus]: ...


class Priorities(ScopedRows[Priority], Protocol):
    def by_name(self, tenant_id: uuid.UUID, name: str) -> Priority | None: ...
    def ordered(self, tenant_id: uuid.UUID) -> list[Priority]: ...


class FlapStates(Protocol):
    """Per dedup key, its latest trigger times and flapping mark (domain/flapping.py)."""

    def get(self, tenant_id: uuid.UUID, key: str) -> FlapState | None: ...
    def of_keys(self, tenant_id: uuid.UUID, keys: Sequence[str]) -> dict[str, FlapState]: ...
    def save(self, tenant_id: uuid.UUID, key: str, state: FlapState) -> None:
        """Insert or replace the key's state (atomic against a concurrent first save)."""


class SyncRuns(ScopedRows[SyncRun], Protocol):
    """Reconciliation runs (adapters/storage/sync_repositories.py); `page` is newest first."""

    def start(self, run: SyncRun, now: datetime) -> SyncRun | None:
        """Insert the run as running, taking over one whose lease passed; None when
        another run of the integration is running (one at a time, on every node)."""
        ...

    def running(self, integration_id: uuid.UUID) -> SyncRun | None: ...
    def extend(self, run_id: uuid.UUID, lease_until: datetime) -> None: ...
    def finish(
        self,
        run_id: uuid.UUID,
        status: SyncStatus,
        now: datetime,
        counts: Mapping[str, int],
        error: str | None,
    ) -> bool:
        """Record the end; False when the run was taken over meanwhile."""
        ...

    def last_started(self) -> dict[uuid.UUID, datetime]: ...
    def pollable(self) -> list[Integration]:
        """Enabled integrations of every tenant whose provider has an API."""
        ...

    def held_alerts(self, integration_id: uuid.UUID) -> list[LocalAlert]:
        """The integration's open and suppressed alerts."""
        ...


class ProviderApi(Protocol):
    """One integration's RMM API (adapters/providers/<provider>/api.py).

    Each call retries by itself (timeouts, 429 and 5xx with backoff, honouring
    Retry-After) and raises domain.errors.ProviderApiError when it gives up.
    """

    async def active_alerts(self) -> list[NormalizedEvent]:
        """The provider's active alerts now, as `triggered` events whose
        external_alert_id and series_key equal what its webhook sends."""
        ...

    async def reset(self, alert: Alert, ticket_reference: str | None) -> None:
        """Reset (resolve) the alert at the provider; `ticket_reference` is the
        Fleetward ticket that closed it, where the provider can record it."""
        ...

    async def acknowledge(self, alert: Alert) -> bool:
        """Acknowledge the alert at the provider; False when it has no such thing."""
        ...

    async def aclose(self) -> None: ...


# The API of an integration, given its opened credentials; None when its provider
# has no API Fleetward calls (generic, Alertmanager, agents) or it has no credentials.
ProviderApiFactory = Callable[[Integration, Mapping[str, str]], ProviderApi | None]


# An integration's ProviderApi built with its opened credentials, or None (the factory's
# answer); for Fleetward's own background work (reconciliation, provider calls).
ApiOpener = Callable[[Integration], ProviderApi | None]
