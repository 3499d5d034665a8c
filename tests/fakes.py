"""In-memory fakes of the storage ports (services/ports.py), for services on plain values.

Hand-written, not mocks: each keeps its rows in a dict and answers as the SQL
repository would for what the services ask. The pipeline's repositories are
all here; those of identity and agents answer NotImplementedError until a
test needs them. A FakeUnitOfWork runs every transaction on the same
FakeRepositories and commits at once (there is no rollback to fake).
`tenants.config_version` moves whenever a configuration fake changes, as the
database's triggers make it move.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from fleetward.domain.alerts import OPEN_STATUSES, Alert, AlertFilter, AlertStatus
from fleetward.domain.flapping import FlapState
from fleetward.domain.integrations import (
    Asset,
    DeadLetter,
    Integration,
    OrgMapping,
    SealedCredentials,
)
from fleetward.domain.jobs import Job, JobStatus, NewJob
from fleetward.domain.maintenance import MaintenanceWindow
from fleetward.domain.notifications import Channel, ChannelPreference, Notification
from fleetward.domain.pagination import Page
from fleetward.domain.rules import AlertRule
from fleetward.domain.tenancy import Client, Site, Tenant, User
from fleetward.domain.tickets import Board, Comment, Priority, Ticket, TicketStatus, TimeEntry
from fleetward.domain.webhook_events import DomainEvent
from fleetward.services.ports import (
    Agents,
    ApiKeys,
    AuditLog,
    EnrollmentTokens,
    LoginThrottle,
    Repositories,
    Sessions,
    SyncRuns,
    Timeline,
    UnitOfWork,
    Watches,
    WebhookSubscriptions,
)

T = TypeVar("T")
R = TypeVar("R")


class _Row(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def tenant_id(self) -> uuid.UUID: ...


Row = TypeVar("Row", bound=_Row)


class ConfigCounter:
    """tenant.config_version, as the triggers of migration 0004 move it."""

    def __init__(self) -> None:
        self.version = 0

    def bump(self) -> None:
        self.version += 1


class FakeRows(Generic[Row]):
    """ScopedRows over a dict: tenant-scoped get, insert, update, delete, count, page."""

    def __init__(self, config: ConfigCounter | None = None) -> None:
        self.rows: dict[uuid.UUID, Row] = {}
        self._config = config  # set for configuration tables

    def _changed(self) -> None:
        if self._config is not None:
            self._config.bump()

    def _matches(self, row: Row, tenant_id: uuid.UUID, where: dict[str, Any]) -> bool:
        return row.tenant_id == tenant_id and all(getattr(row, k) == v for k, v in where.items())

    def of_tenant(self, tenant_id: uuid.UUID, **where: Any) -> list[Row]:
        return [row for row in self.rows.values() if self._matches(row, tenant_id, where)]

    def get(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **where: Any) -> Row | None:
        row = self.rows.get(object_id)
        return row if row is not None and self._matches(row, tenant_id, where) else None

    def owner_of(self, object_id: uuid.UUID) -> uuid.UUID | None:
        row = self.rows.get(object_id)
        return None if row is None else row.tenant_id

    def page(self, tenant_id: uuid.UUID, limit: int, cursor: str | None, **where: Any) -> Page[Row]:
        if cursor is not None:
            raise NotImplementedError("FakeRows pages only from the start")
        found = self.of_tenant(tenant_id, **where)
        return Page(found[:limit], "more" if len(found) > limit else None)

    def insert(self, obj: Row) -> Row:
        self.rows[obj.id] = obj
        self._changed()
        return obj

    def update(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **values: Any) -> None:
        row = self.get(tenant_id, object_id)
        if row is not None:
            self.rows[object_id] = dataclasses.replace(row, **values)  # type: ignore[type-var]
            self._changed()

    def delete(self, tenant_id: uuid.UUID, object_id: uuid.UUID) -> bool:
        if self.get(tenant_id, object_id) is None:
            return False
        del self.rows[object_id]
        self._changed()
        return True

    def count(self, tenant_id: uuid.UUID, **where: Any) -> int:
        return len(self.of_tenant(tenant_id, **where))


class FakeTenants:
    def __init__(self, config: ConfigCounter) -> None:
        self.rows: dict[uuid.UUID, Tenant] = {}
        self._config = config
        self.locks: list[uuid.UUID] = []  # tenants whose writers a transaction serialised
        self.documents: dict[uuid.UUID, dict[str, Any]] = {}  # tenant.settings

    def add(self, tenant: Tenant) -> Tenant:
        self.rows[tenant.id] = tenant
        return tenant

    def by_name(self, name: str) -> Tenant | None:
        return next((t for t in self.rows.values() if t.name == name), None)

    def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return self.rows.get(tenant_id)

    def config_version(self, tenant_id: uuid.UUID) -> int:
        return self._config.version

    def lock(self, tenant_id: uuid.UUID) -> None:
        self.locks.append(tenant_id)

    def settings(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        return dict(self.documents.get(tenant_id, {}))

    def save_settings(self, tenant_id: uuid.UUID, settings: dict[str, Any]) -> None:
        self.documents[tenant_id] = dict(settings)
        self._config.bump()


class FakeUsers(FakeRows[User]):
    def add(self, user: User, password_hash: str) -> User:
        return self.insert(user)

    def credentials(self, email: str) -> tuple[User, str] | None:
        raise NotImplementedError

    def by_id_any_tenant(self, user_id: uuid.UUID) -> User | None:
        return self.rows.get(user_id)

    def by_email_any_tenant(self, email: str) -> User | None:
        return next((u for u in self.rows.values() if u.email == email), None)


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
        self, tenant_id: uuid.UUID, where: AlertFilter, limit: int, cursor: str | None
    ) -> tuple[list[Alert], str | None]:
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
        self, tenant_id: uuid.UUID, limit: int, cursor: str | None, **where: Any
    ) -> tuple[list[Ticket], str | None]:
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


@dataclasses.dataclass(frozen=True, slots=True)
class RecordedEvent:
    tenant_id: uuid.UUID
    type: str
    payload: dict[str, Any]


class FakeOutbox:
    def __init__(self) -> None:
        self.added: list[RecordedEvent] = []

    def add(self, tenant_id: uuid.UUID, type_: str, payload: dict[str, Any], at: datetime) -> None:
        self.added.append(RecordedEvent(tenant_id, type_, payload))

    def unpublished(self, limit: int) -> list[DomainEvent]:
        raise _not_faked("events.unpublished")

    def mark_published(self, event_ids: Sequence[int], at: datetime) -> None:
        raise _not_faked("events.mark_published")


class FakeNotifications(FakeRows[Notification]):
    """Users' notifications; newest() pages from the start only."""

    def newest(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        unread_only: bool = False,
    ) -> Page[Notification]:
        if cursor is not None:
            raise NotImplementedError("FakeNotifications pages only from the start")
        found = [
            n
            for n in self.of_tenant(tenant_id, user_id=user_id)
            if not unread_only or n.read_at is None
        ]
        found.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return Page(found[:limit], "more" if len(found) > limit else None)

    def unread_count(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> int:
        return sum(n.read_at is None for n in self.of_tenant(tenant_id, user_id=user_id))

    def mark_read(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, at: datetime, notification_id: uuid.UUID
    ) -> None:
        found = self.get(tenant_id, notification_id, user_id=user_id)
        if found is not None and found.read_at is None:
            self.update(tenant_id, notification_id, read_at=at)

    def mark_all_read(self, tenant_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> int:
        unread = [n for n in self.of_tenant(tenant_id, user_id=user_id) if n.read_at is None]
        for n in unread:
            self.update(tenant_id, n.id, read_at=at)
        return len(unread)


class FakeNotificationPreferences:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, uuid.UUID, Channel], ChannelPreference] = {}

    def of_users(
        self, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[Channel, ChannelPreference]]:
        found: dict[uuid.UUID, dict[Channel, ChannelPreference]] = {u: {} for u in user_ids}
        for (tenant, user, channel), preference in self.rows.items():
            if tenant == tenant_id and user in found:
                found[user][channel] = preference
        return found

    def save(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        preferences: Sequence[ChannelPreference],
        at: datetime,
    ) -> None:
        for preference in preferences:
            self.rows[(tenant_id, user_id, preference.channel)] = preference

    def sealed_targets(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        return [
            (tenant, user, p.target)
            for (tenant, user, _), p in self.rows.items()
            if p.channel is Channel.CHAT and p.target is not None
        ]

    def set_target(self, tenant_id: uuid.UUID, user_id: uuid.UUID, sealed: str) -> None:
        key = (tenant_id, user_id, Channel.CHAT)
        self.rows[key] = dataclasses.replace(self.rows[key], target=sealed)


class FakeJobs(FakeRows[Job]):
    """The outbox's jobs; claim() takes every due job, there being one runner."""

    def enqueue(self, job: NewJob, now: datetime) -> uuid.UUID | None:
        if job.key is not None and any(j.key == job.key for j in self.rows.values()):
            return None
        job_id = uuid.uuid4()
        self.insert(
            Job(
                job_id, job.tenant_id, job.kind, job.ref_type, job.ref_id, job.key,
                job.payload, JobStatus.PENDING, 0, now, None, now + job.give_up_after,
                None, None, now, None,
            )
        )  # fmt: skip
        return job_id

    def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Job]:
        due = [
            j
            for j in self.rows.values()
            if (j.status is JobStatus.PENDING and j.next_attempt_at <= now)
            or (j.status is JobStatus.RUNNING and j.lease_until is not None and j.lease_until < now)
        ][:limit]
        for j in due:
            self.rows[j.id] = dataclasses.replace(
                j, status=JobStatus.RUNNING, lease_until=now + lease, attempts=j.attempts + 1
            )
        return [self.rows[j.id] for j in due]

    def finish(
        self,
        job_id: uuid.UUID,
        status: JobStatus,
        now: datetime,
        *,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        status_code: int | None = None,
    ) -> None:
        job = self.rows[job_id]
        self.rows[job_id] = dataclasses.replace(
            job,
            status=status,
            lease_until=None,
            last_error=error,
            last_status_code=status_code,
            next_attempt_at=next_attempt_at or job.next_attempt_at,
            finished_at=None if status is JobStatus.PENDING else now,
        )

    def replay(self, tenant_id: uuid.UUID, job_id: uuid.UUID, now: datetime) -> bool:
        job = self.get(tenant_id, job_id)
        if job is None:
            return False
        self.rows[job_id] = dataclasses.replace(
            job, status=JobStatus.PENDING, next_attempt_at=now, finished_at=None
        )
        return True

    def about(
        self, tenant_id: uuid.UUID, ref_type: str, ref_id: uuid.UUID, limit: int = 50
    ) -> list[Job]:
        found = self.of_tenant(tenant_id, ref_type=ref_type, ref_id=ref_id)
        return sorted(found, key=lambda j: j.created_at, reverse=True)[:limit]

    def waiting(self) -> int:
        return sum(j.status in (JobStatus.PENDING, JobStatus.RUNNING) for j in self.rows.values())


class FakeFlapStates:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, str], FlapState] = {}

    def get(self, tenant_id: uuid.UUID, key: str) -> FlapState | None:
        return self.rows.get((tenant_id, key))

    def of_keys(self, tenant_id: uuid.UUID, keys: Sequence[str]) -> dict[str, FlapState]:
        return {k: s for k in keys if (s := self.rows.get((tenant_id, k))) is not None}

    def save(self, tenant_id: uuid.UUID, key: str, state: FlapState) -> None:
        self.rows[(tenant_id, key)] = state


def _not_faked(name: str) -> NotImplementedError:
    return NotImplementedError(f"tests/fakes.py has no fake of repos.{name} yet")


class FakeRepositories:
    """Every repository the pipeline uses, in memory."""

    def __init__(self) -> None:
        self.config = ConfigCounter()
        config = self.config
        self._tenants = FakeTenants(config)
        self._users = FakeUsers()
        self._clients = FakeRows[Client]()
        self._sites = FakeRows[Site]()
        self._integrations = FakeIntegrations()
        self._org_mappings = FakeOrgMappings(config)
        self._assets = FakeAssets()
        self._dead_letters = FakeRows[DeadLetter]()
        self._alerts = FakeAlerts()
        self._receipts = FakeReceipts()
        self._rules = FakeRules(config)
        self._windows = FakeWindows(config)
        self._comments = FakeRows[Comment]()
        self._time_entries = FakeRows[TimeEntry]()
        self._tickets = FakeTickets(self._comments, self._time_entries)
        self._boards = FakeBoards(config)
        self._statuses = FakeStatuses(config)
        self._priorities = FakePriorities(config)
        self._events = FakeOutbox()
        self._notifications = FakeNotifications()
        self._notification_preferences = FakeNotificationPreferences()
        self._jobs = FakeJobs()
        self._flap_states = FakeFlapStates()

    # Typed as the fakes, so tests may look inside; each is also its port.
    @property
    def tenants(self) -> FakeTenants:
        return self._tenants

    @property
    def users(self) -> FakeUsers:
        return self._users

    @property
    def clients(self) -> FakeRows[Client]:
        return self._clients

    @property
    def sites(self) -> FakeRows[Site]:
        return self._sites

    @property
    def integrations(self) -> FakeIntegrations:
        return self._integrations

    @property
    def org_mappings(self) -> FakeOrgMappings:
        return self._org_mappings

    @property
    def assets(self) -> FakeAssets:
        return self._assets

    @property
    def dead_letters(self) -> FakeRows[DeadLetter]:
        return self._dead_letters

    @property
    def alerts(self) -> FakeAlerts:
        return self._alerts

    @property
    def receipts(self) -> FakeReceipts:
        return self._receipts

    @property
    def rules(self) -> FakeRules:
        return self._rules

    @property
    def windows(self) -> FakeWindows:
        return self._windows

    @property
    def tickets(self) -> FakeTickets:
        return self._tickets

    @property
    def boards(self) -> FakeBoards:
        return self._boards

    @property
    def statuses(self) -> FakeStatuses:
        return self._statuses

    @property
    def priorities(self) -> FakePriorities:
        return self._priorities

    @property
    def comments(self) -> FakeRows[Comment]:
        return self._comments

    @property
    def time_entries(self) -> FakeRows[TimeEntry]:
        return self._time_entries

    @property
    def events(self) -> FakeOutbox:
        return self._events

    @property
    def notifications(self) -> FakeNotifications:
        return self._notifications

    @property
    def notification_preferences(self) -> FakeNotificationPreferences:
        return self._notification_preferences

    @property
    def jobs(self) -> FakeJobs:
        return self._jobs

    @property
    def flap_states(self) -> FakeFlapStates:
        return self._flap_states

    # Not faked yet: identity and agents.
    @property
    def api_keys(self) -> ApiKeys:
        raise _not_faked("api_keys")

    @property
    def sessions(self) -> Sessions:
        raise _not_faked("sessions")

    @property
    def login_throttle(self) -> LoginThrottle:
        raise _not_faked("login_throttle")

    @property
    def audit(self) -> AuditLog:
        raise _not_faked("audit")

    @property
    def enrollment_tokens(self) -> EnrollmentTokens:
        raise _not_faked("enrollment_tokens")

    @property
    def agents(self) -> Agents:
        raise _not_faked("agents")

    @property
    def timeline(self) -> Timeline:
        raise _not_faked("timeline")

    @property
    def watches(self) -> Watches:
        raise _not_faked("watches")

    @property
    def webhook_subscriptions(self) -> WebhookSubscriptions:
        raise _not_faked("webhook_subscriptions")

    @property
    def sync_runs(self) -> SyncRuns:
        raise _not_faked("sync_runs")


class FakeUnitOfWork:
    """Every transaction on one FakeRepositories, committed at once."""

    def __init__(self, repos: FakeRepositories | None = None) -> None:
        self.repos = repos or FakeRepositories()
        self.writes = 0  # write transactions run

    @contextmanager
    def write(self) -> Iterator[Repositories]:
        self.writes += 1
        yield self.repos

    @contextmanager
    def read(self) -> Iterator[Repositories]:
        yield self.repos

    def run_write(self, job: Callable[[Repositories], R]) -> R:
        self.writes += 1
        return job(self.repos)

    async def run_write_async(self, job: Callable[[Repositories], R]) -> R:
        return self.run_write(job)

    def try_write(self, job: Callable[[Repositories], object]) -> bool:
        self.run_write(job)
        return True


def fixed_clock(at: datetime) -> Callable[[], datetime]:
    return itertools.repeat(at).__next__


def _conforms(repos: FakeRepositories, uow: FakeUnitOfWork) -> tuple[Repositories, UnitOfWork]:
    """mypy checks here that the fakes are the ports (`make lint` runs mypy on this file too)."""
    return repos, uow
