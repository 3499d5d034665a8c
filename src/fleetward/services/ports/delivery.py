"""What goes out: domain events, webhooks, the outbox's jobs and users' notifications."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from fleetward.domain.jobs import Job, JobStatus, NewJob
from fleetward.domain.notifications import Channel, ChannelPreference, Notification
from fleetward.domain.pagination import Page
from fleetward.domain.webhook_events import DeliveryResult, DomainEvent, WebhookSubscription
from fleetward.services.ports.base import ScopedRows


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
