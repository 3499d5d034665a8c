"""The alert pipeline's configuration and rows: integrations, alerts, rules, windows, tickets."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fleetward.domain.alerts import (
    ALERT_DEFAULT_SORT,
    OPEN_STATUSES,
    Alert,
    AlertFilter,
    AlertStatus,
)
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
from fleetward.domain.tickets import (
    TICKET_DEFAULT_SORT,
    Board,
    Comment,
    Priority,
    Ticket,
    TicketStatus,
    TimeEntry,
)
from tests.fakes.rows import (
    FakeRows,
)


class FakeIntegrations(FakeRows[Integration]):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[uuid.UUID, str] = {}
        self.credentials: dict[uuid.UUID, SealedCredentials] = {}

    def add(
        self,
        integration: Integration,
        webhook_secret: str,
        credentials: SealedCredentials | None = None,
    ) -> Integration:
        self.secrets[integration.id] = webhook_secret
        if credentials is not None:
            self.credentials[integration.id] = credentials
        return self.insert(integration)

    def for_webhook(self, integration_id: uuid.UUID) -> tuple[Integration, str] | None:
        found = self.rows.get(integration_id)
        return None if found is None else (found, self.secrets[integration_id])

    def sealed_secrets(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        return [(i.tenant_id, i.id, self.secrets[i.id]) for i in self.rows.values()]

    def set_secret(self, tenant_id: uuid.UUID, integration_id: uuid.UUID, secret: str) -> None:
        if self.get(tenant_id, integration_id) is not None:
            self.secrets[integration_id] = secret

    def sealed_credentials(
        self, tenant_id: uuid.UUID, integration_id: uuid.UUID
    ) -> SealedCredentials | None:
        found = self.get(tenant_id, integration_id)
        return None if found is None else self.credentials.get(integration_id)

    def last_received(
        self, tenant_id: uuid.UUID, integration_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, datetime]:
        raise NotImplementedError  # read from alerts, receipts and dead letters: storage tests

    def credential_names(
        self, tenant_id: uuid.UUID, integration_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[str, ...]]:
        return {
            i: self.credentials[i].names
            for i in integration_ids
            if i in self.credentials and self.get(tenant_id, i) is not None
        }

    def all_sealed_credentials(self) -> list[tuple[uuid.UUID, uuid.UUID, SealedCredentials]]:
        return [(self.rows[i].tenant_id, i, c) for i, c in self.credentials.items()]

    def set_credentials(
        self,
        tenant_id: uuid.UUID,
        integration_id: uuid.UUID,
        credentials: SealedCredentials | None,
    ) -> None:
        if self.get(tenant_id, integration_id) is None:
            return
        if credentials is None:
            self.credentials.pop(integration_id, None)
        else:
            self.credentials[integration_id] = credentials


class FakeOrgMappings(FakeRows[OrgMapping]):
    def client_for(
        self, integration_id: uuid.UUID, external_org_id: str | None
    ) -> uuid.UUID | None:
        for mapping in self.rows.values():
            if (mapping.integration_id, mapping.external_org_id) == (
                integration_id,
                external_org_id,
            ):
                return mapping.client_id
        return None


class FakeAssets(FakeRows[Asset]):
    def by_device(self, integration_id: uuid.UUID, external_device_id: str) -> Asset | None:
        for asset in self.rows.values():
            if (asset.integration_id, asset.external_device_id) == (
                integration_id,
                external_device_id,
            ):
                return asset
        return None


class FakeAlerts(FakeRows[Alert]):
    def __init__(self) -> None:
        super().__init__()
        self.raw: dict[uuid.UUID, dict[str, Any]] = {}

    def add(self, alert: Alert, raw: dict[str, Any]) -> None:
        self.insert(alert)
        self.raw[alert.id] = raw

    def find(self, integration_id: uuid.UUID, external_alert_id: str) -> uuid.UUID | None:
        for alert in self.rows.values():
            if (alert.integration_id, alert.external_alert_id) == (
                integration_id,
                external_alert_id,
            ):
                return alert.id
        return None

    def _by_arrival(self, alerts: list[Alert]) -> list[Alert]:
        return sorted(alerts, key=lambda a: (a.created_at, a.id))

    def open_in_series(self, integration_id: uuid.UUID, series_key: str) -> list[Alert]:
        statuses = {*OPEN_STATUSES, AlertStatus.SUPPRESSED}
        return self._by_arrival(
            [
                a
                for a in self.rows.values()
                if a.integration_id == integration_id
                and a.series_key == series_key
                and a.status in statuses
            ]
        )

    def set_status(
        self, alert_id: uuid.UUID, status: AlertStatus, at: datetime, resolved: bool = False
    ) -> None:
        alert = self.rows[alert_id]
        resolved_at = at if resolved else alert.resolved_at
        self.rows[alert_id] = dataclasses.replace(
            alert, status=status, updated_at=at, resolved_at=resolved_at
        )

    def count_open_on_ticket(self, ticket_id: uuid.UUID, excluding: Sequence[uuid.UUID]) -> int:
        return sum(
            1
            for a in self.rows.values()
            if a.ticket_id == ticket_id and a.status in OPEN_STATUSES and a.id not in excluding
        )

    def search(
        self,
        tenant_id: uuid.UUID,
        where: AlertFilter,
        limit: int,
        cursor: str | None,
        sort: Sort = ALERT_DEFAULT_SORT,
        count: bool = False,
    ) -> Page[Alert]:
        raise NotImplementedError

    def on_ticket(self, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> list[Alert]:
        return self._by_arrival(self.of_tenant(tenant_id, ticket_id=ticket_id))


class FakeReceipts:
    def __init__(self) -> None:
        self.taken: set[tuple[uuid.UUID, str, str]] = set()

    def seen(self, integration_id: uuid.UUID, kind: str, external_id: str) -> bool:
        return (integration_id, kind, external_id) in self.taken

    def add(
        self,
        tenant_id: uuid.UUID,
        integration_id: uuid.UUID,
        kind: str,
        external_id: str,
        at: datetime,
    ) -> None:
        self.taken.add((integration_id, kind, external_id))


class FakeRules(FakeRows[AlertRule]):
    def ordered(self, tenant_id: uuid.UUID) -> list[AlertRule]:
        return sorted(self.of_tenant(tenant_id), key=lambda r: r.position)

    def next_position(self, tenant_id: uuid.UUID) -> int:
        return max((r.position for r in self.of_tenant(tenant_id)), default=-1) + 1

    def save(self, rule: AlertRule, at: datetime, created: bool) -> None:
        self.insert(rule)


class FakeWindows(FakeRows[MaintenanceWindow]):
    def save(self, window: MaintenanceWindow, at: datetime, created: bool) -> None:
        self.insert(window)

    def all(self, tenant_id: uuid.UUID) -> list[MaintenanceWindow]:
        return self.of_tenant(tenant_id)


class FakeTickets(FakeRows[Ticket]):
    def __init__(self, comments: FakeRows[Comment], time_entries: FakeRows[TimeEntry]) -> None:
        super().__init__()
        self._comments = comments
        self._time_entries = time_entries

    def open_by_key(self, tenant_id: uuid.UUID, key: str) -> Ticket | None:
        found = self.of_tenant(tenant_id, dedup_key=key, is_closed=False)
        return found[0] if found else None

    def latest_by_key(self, tenant_id: uuid.UUID, key: str) -> Ticket | None:
        open_ = self.open_by_key(tenant_id, key)
        if open_ is not None:
            return open_
        closed = [t for t in self.of_tenant(tenant_id, dedup_key=key) if t.closed_at is not None]
        return max(closed, key=lambda t: (t.closed_at, t.number), default=None)

    def next_number(self, tenant_id: uuid.UUID) -> int:
        return max((t.number for t in self.of_tenant(tenant_id)), default=0) + 1

    def bump_occurrence(self, ticket_id: uuid.UUID, at: datetime) -> int:
        ticket = self.rows[ticket_id]
        count = ticket.occurrence_count + 1
        self.rows[ticket_id] = dataclasses.replace(ticket, occurrence_count=count, updated_at=at)
        return count

    def activity(self, ticket_id: uuid.UUID) -> tuple[int, int]:
        comments = self._comments.rows.values()
        entries = self._time_entries.rows.values()
        return (
            sum(1 for c in comments if c.ticket_id == ticket_id and c.author_type == "user"),
            sum(1 for e in entries if e.ticket_id == ticket_id),
        )

    def search(
        self,
        tenant_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        sort: Sort = TICKET_DEFAULT_SORT,
        count: bool = False,
        unassigned: bool = False,
        **where: Any,
    ) -> Page[Ticket]:
        raise NotImplementedError

    def alert_ids(
        self, tenant_id: uuid.UUID, ticket_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        raise NotImplementedError


class FakeBoards(FakeRows[Board]):
    def first(self, tenant_id: uuid.UUID) -> Board | None:
        boards = sorted(self.of_tenant(tenant_id), key=lambda b: b.created_at)
        return boards[0] if boards else None


class FakeStatuses(FakeRows[TicketStatus]):
    def of_board(self, tenant_id: uuid.UUID, board_id: uuid.UUID) -> list[TicketStatus]:
        return sorted(self.of_tenant(tenant_id, board_id=board_id), key=lambda s: s.position)


class FakePriorities(FakeRows[Priority]):
    def by_name(self, tenant_id: uuid.UUID, name: str) -> Priority | None:
        found = [p for p in self.of_tenant(tenant_id) if p.name.lower() == name.lower()]
        return found[0] if found else None

    def ordered(self, tenant_id: uuid.UUID) -> list[Priority]:
        return sorted(self.of_tenant(tenant_id), key=lambda p: p.position)
