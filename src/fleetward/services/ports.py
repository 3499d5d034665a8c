"""What services need from the world, as protocols; adapters provide them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol, TypeVar

from fleetward.domain.agents import Agent, EnrollmentToken, StoredEvent, TimelineFilter
from fleetward.domain.alerts import Alert, AlertFilter, AlertStatus, NormalizedEvent
from fleetward.domain.audit import AuditEntry
from fleetward.domain.eventlog import EventLogWatch, WatchScope
from fleetward.domain.flapping import FlapState
from fleetward.domain.integrations import (
    Asset,
    DeadLetter,
    Integration,
    OrgMapping,
    SealedCredentials,
)
from fleetward.domain.jobs import Job, JobStatus, NewJob
from fleetward.domain.listing import Sort
from fleetward.domain.maintenance import MaintenanceWindow
from fleetward.domain.notifications import Channel, ChannelPreference, Notification
from fleetward.domain.overview import IntegrationHealth, OverviewFigures, ResponseTimes
from fleetward.domain.pagination import Page
from fleetward.domain.rules import AlertRule
from fleetward.domain.search import Hit, KindHits, SearchQuery
from fleetward.domain.sync import LocalAlert, SyncRun, SyncStatus
from fleetward.domain.tenancy import ApiKey, Client, Site, Tenant, User
from fleetward.domain.tickets import Board, Comment, Priority, Ticket, TicketStatus, TimeEntry
from fleetward.domain.webhook_events import DeliveryResult, DomainEvent, WebhookSubscription

T = TypeVar("T")

Clock = Callable[[], datetime]


class ScopedRows(Protocol[T]):
    def get(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **where: Any) -> T | None: ...
    def owner_of(self, object_id: uuid.UUID) -> uuid.UUID | None: ...
    def page(
        self, tenant_id: uuid.UUID, limit: int, cursor: str | None, **where: Any
    ) -> Page[T]: ...
    def insert(self, obj: T) -> T: ...
    def update(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **values: Any) -> None: ...
    def delete(self, tenant_id: uuid.UUID, object_id: uuid.UUID) -> bool: ...
    def count(self, tenant_id: uuid.UUID, **where: Any) -> int: ...


class Clients(ScopedRows[Client], Protocol):
    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        name_contains: str | None = None,
    ) -> Page[Client]: ...


class Tenants(Protocol):
    def add(self, tenant: Tenant) -> Tenant: ...
    def by_name(self, name: str) -> Tenant | None: ...
    def get(self, tenant_id: uuid.UUID) -> Tenant | None: ...
    def config_version(self, tenant_id: uuid.UUID) -> int:
        """The counter the pipeline's config tables bump on every change (0 if unknown)."""
        ...

    def lock(self, tenant_id: uuid.UUID) -> None:
        """Serialise this tenant's writers until the transaction ends."""
        ...

    def settings(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        """The tenant's settings document ({} when none are set)."""
        ...

    def save_settings(self, tenant_id: uuid.UUID, settings: dict[str, Any]) -> None:
        """Replace the settings document, moving config_version with it."""
        ...


class Users(ScopedRows[User], Protocol):
    def add(self, user: User, password_hash: str) -> User: ...
    def credentials(self, email: str) -> tuple[User, str] | None: ...
    def by_id_any_tenant(self, user_id: uuid.UUID) -> User | None: ...
    def by_email_any_tenant(self, email: str) -> User | None: ...


class ApiKeys(ScopedRows[ApiKey], Protocol):
    def add(self, key: ApiKey, key_hash: str) -> ApiKey: ...
    def by_hash(self, key_hash: str) -> ApiKey | None: ...


class SessionRecord(Protocol):
    @property
    def tenant_id(self) -> uuid.UUID: ...
    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def csrf_token(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


class Sessions(Protocol):
    def add(self, session: Any, token_hash: str) -> None: ...
    def by_hash(self, token_hash: str) -> SessionRecord | None: ...
    def remove(self, token_hash: str) -> None: ...
    def remove_expired(self, now: datetime) -> int: ...


class LoginThrottle(Protocol):
    def take(self, subject: str, limit: int, now: datetime, expired: datetime) -> datetime | None:
        """Count one attempt against `subject` unless `limit` are counted in its window
        (a window that started at or before `expired` starts again at `now`): the start
        of the window it was counted in, or None at the limit. Atomic against
        concurrent takes."""
        ...

    def give_back(self, subject: str, window_start: datetime) -> None:
        """Uncount an attempt taken in that window (none if the window has moved on)."""
        ...

    def forget_expired(self, expired: datetime, at_most: int) -> None:
        """Delete up to `at_most` counters whose window started at or before `expired`,
        skipping any another transaction holds (so it never waits on a login)."""
        ...


class AuditLog(Protocol):
    def append(self, draft: AuditEntry) -> AuditEntry: ...
    def page(
        self,
        tenant_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        action: str | None = None,
        object_id: str | None = None,
    ) -> Page[tuple[AuditEntry, uuid.UUID, str]]: ...
    def of_object(
        self, tenant_id: uuid.UUID, object_type: str, object_id: str, limit: int
    ) -> list[AuditEntry]: ...
    def chain(self, tenant_id: uuid.UUID) -> list[tuple[AuditEntry, str]]: ...


# Pipeline A (adapters/storage/: integration_, alert_, rule_, ticket_, outbox_repositories.py)


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


class EventOutbox(Protocol):
    """Domain events (services/events.py writes them, the dispatcher publishes them)."""

    def add(
        self, tenant_id: uuid.UUID, type_: str, payload: dict[str, Any], at: datetime
    ) -> None: ...
    def unpublished(self, limit: int) -> list[DomainEvent]:
        """The oldest unpublished events of every tenant."""
        ...

    def mark_published(self, event_ids: Sequence[int], at: datetime) -> None: ...


class WebhookSubscriptions(ScopedRows[WebhookSubscription], Protocol):
    def add(self, subscription: WebhookSubscription, sealed_secret: str) -> WebhookSubscription: ...
    def sealed_secret(self, tenant_id: uuid.UUID, subscription_id: uuid.UUID) -> str | None: ...
    def set_secret(
        self, tenant_id: uuid.UUID, subscription_id: uuid.UUID, sealed_secret: str
    ) -> None: ...
    def sealed_secrets(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]: ...
    def enabled_of(self, tenant_ids: Sequence[uuid.UUID]) -> list[WebhookSubscription]: ...


class WebhookPoster(Protocol):
    """POSTs a webhook delivery under the outbound policy (adapters/webhook_poster.py)."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> DeliveryResult:
        """The receiver's answer, or why there was none; never raises for the network."""
        ...


class Jobs(ScopedRows[Job], Protocol):
    """The outbox's jobs (adapters/storage/job_repositories.py)."""

    def enqueue(self, job: NewJob, now: datetime) -> uuid.UUID | None:
        """Write a job in the caller's transaction; None when its key exists already."""
        ...

    def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Job]: ...
    def finish(
        self,
        job_id: uuid.UUID,
        status: JobStatus,
        now: datetime,
        *,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        status_code: int | None = None,
    ) -> None: ...
    def replay(self, tenant_id: uuid.UUID, job_id: uuid.UUID, now: datetime) -> bool: ...
    def about(
        self, tenant_id: uuid.UUID, ref_type: str, ref_id: uuid.UUID, limit: int = 50
    ) -> list[Job]: ...
    def waiting(self) -> int: ...


class OutboxPurge(Protocol):
    """Deletes what the outbox is done with, any tenant's
    (adapters/storage/outbox_purge.py). Each call is one transaction of at most
    `limit` rows, so a long backlog never holds SQLite's write lock for long."""

    def delete_published_events(self, before: datetime, limit: int) -> int:
        """Domain events published before `before`; how many went."""
        ...

    def delete_finished_jobs(self, before: datetime, limit: int) -> int:
        """Jobs done or given up before `before`; how many went."""
        ...


class OverviewQueries(Protocol):
    """The overview's figures for one tenant, counted by the database in one read
    snapshot (adapters/storage/overview_queries.py; their meaning: domain/overview.py).
    `user_id` is the reader (their tickets); `zone` their calendar (the charts' days);
    `provider_call_kinds` the outbox job kinds that call an alert's provider."""

    def figures(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        now: datetime,
        zone: tzinfo,
        provider_call_kinds: Sequence[str],
    ) -> OverviewFigures:
        """Every figure but the response times."""
        ...

    def response_times(self, tenant_id: uuid.UUID, now: datetime) -> list[ResponseTimes]:
        """Median times to acknowledge and resolve, one per RESPONSE_WINDOWS."""
        ...

    def integrations(
        self, tenant_id: uuid.UUID, now: datetime, provider_call_kinds: Sequence[str]
    ) -> list[IntegrationHealth]:
        """Only the integrations' health (the integrations list's filter)."""
        ...


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


class Notifications(ScopedRows[Notification], Protocol):
    """Users' notifications (adapters/storage/notification_repositories.py)."""

    def newest(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        unread_only: bool = False,
    ) -> Page[Notification]: ...
    def unread_count(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> int: ...
    def mark_read(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, at: datetime, notification_id: uuid.UUID
    ) -> None: ...
    def mark_all_read(self, tenant_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> int: ...


class NotificationPreferences(Protocol):
    """Stored per user and channel; a channel without one has its default."""

    def of_users(
        self, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[Channel, ChannelPreference]]: ...
    def save(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        preferences: Sequence[ChannelPreference],
        at: datetime,
    ) -> None: ...
    def sealed_targets(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        """Every chat webhook URL stored, sealed: (tenant, user, token)."""
        ...

    def set_target(self, tenant_id: uuid.UUID, user_id: uuid.UUID, sealed: str) -> None: ...


# Agents and the timeline (adapters/storage/agent_repositories.py)


class EnrollmentTokens(ScopedRows[EnrollmentToken], Protocol):
    def add(self, token: EnrollmentToken, token_hash: str) -> EnrollmentToken: ...
    def by_hash(self, token_hash: str) -> EnrollmentToken | None: ...


class Agents(ScopedRows[Agent], Protocol):
    def add(self, agent: Agent, key_hash: str) -> Agent: ...
    def by_hash(self, key_hash: str) -> Agent | None: ...
    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        state: str | None,
        online_since: datetime,
        client_id: uuid.UUID | None = None,
    ) -> Page[Agent]: ...
    def state_counts(
        self, tenant_id: uuid.UUID, online_since: datetime, client_id: uuid.UUID | None = None
    ) -> dict[str, int]: ...


class Watches(ScopedRows[EventLogWatch], Protocol):
    def save(self, watch: EventLogWatch, at: datetime, created: bool) -> None: ...
    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        enabled: bool | None = None,
    ) -> Page[EventLogWatch]: ...
    def for_agent(self, agent: Agent) -> list[EventLogWatch]: ...
    def bump_config_versions(self, tenant_id: uuid.UUID, scopes: Sequence[WatchScope]) -> int:
        """Move the config version of the agents these scopes cover; how many moved."""
        ...


class Timeline(Protocol):
    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> int: ...
    def search(
        self,
        tenant_id: uuid.UUID,
        where: TimelineFilter,
        limit: int,
        cursor: str | None,
        sort: Sort = ...,
        count_up_to: int = 0,
    ) -> Page[StoredEvent]: ...

    def delete_before(self, cutoff: datetime) -> int: ...


class Repositories(Protocol):
    @property
    def tenants(self) -> Tenants: ...
    @property
    def users(self) -> Users: ...
    @property
    def api_keys(self) -> ApiKeys: ...
    @property
    def sessions(self) -> Sessions: ...
    @property
    def login_throttle(self) -> LoginThrottle: ...
    @property
    def clients(self) -> Clients: ...
    @property
    def sites(self) -> ScopedRows[Site]: ...
    @property
    def audit(self) -> AuditLog: ...

    # Pipeline A
    @property
    def integrations(self) -> Integrations: ...
    @property
    def org_mappings(self) -> OrgMappings: ...
    @property
    def assets(self) -> Assets: ...
    @property
    def dead_letters(self) -> ScopedRows[DeadLetter]: ...
    @property
    def alerts(self) -> Alerts: ...
    @property
    def receipts(self) -> Receipts: ...
    @property
    def rules(self) -> Rules: ...
    @property
    def windows(self) -> Windows: ...
    @property
    def tickets(self) -> Tickets: ...
    @property
    def boards(self) -> Boards: ...
    @property
    def statuses(self) -> Statuses: ...
    @property
    def priorities(self) -> Priorities: ...
    @property
    def comments(self) -> ScopedRows[Comment]: ...
    @property
    def time_entries(self) -> ScopedRows[TimeEntry]: ...
    @property
    def events(self) -> EventOutbox: ...
    @property
    def notifications(self) -> Notifications: ...
    @property
    def notification_preferences(self) -> NotificationPreferences: ...
    @property
    def jobs(self) -> Jobs: ...
    @property
    def webhook_subscriptions(self) -> WebhookSubscriptions: ...
    @property
    def flap_states(self) -> FlapStates: ...
    @property
    def sync_runs(self) -> SyncRuns: ...

    # Agents and the timeline
    @property
    def enrollment_tokens(self) -> EnrollmentTokens: ...
    @property
    def agents(self) -> Agents: ...
    @property
    def timeline(self) -> Timeline: ...
    @property
    def watches(self) -> Watches: ...

    @property
    def search(self) -> SearchQueries: ...


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


class SearchQueries(Protocol):
    """The global search (domain/search.py): one kind's hits for one tenant, at most
    `limit`, with their count up to COUNT_CAP."""

    def tickets(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...
    def ticket_by_number(self, tenant_id: uuid.UUID, number: int) -> Hit | None: ...
    def alerts(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...
    def devices(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...
    def clients(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...
    def agents(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...


class UnitOfWork(Protocol):
    """Opens transactions; a block that raises is rolled back whole. When the
    storage fails, every method raises the domain's StorageUnavailable."""

    def write(self) -> AbstractContextManager[Repositories]: ...
    def read(self) -> AbstractContextManager[Repositories]: ...

    def run_write(self, job: Callable[[Repositories], T]) -> T:
        """`job` in a write transaction, returning once it is committed.

        For hot paths: the store may commit it together with other callers'
        jobs, so a job must only touch the database (and may be run twice if
        a job beside it fails).
        """
        ...

    async def run_write_async(self, job: Callable[[Repositories], T]) -> T:
        """run_write() for a caller on the event loop, which it must not block."""
        ...

    def try_write(self, job: Callable[[Repositories], object]) -> bool:
        """`job` in a write transaction, or not at all when the store refuses
        writes (read-only, full, unreachable): False then. For bookkeeping that
        no request should fail for, such as a read's note of when a key was used."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str | None, password: str) -> bool: ...
