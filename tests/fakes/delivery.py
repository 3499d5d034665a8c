"""What a change tells and still has to do: events, notifications and their
preferences, outbox jobs; and the flap state.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from fleetward.domain.flapping import FlapState
from fleetward.domain.jobs import Job, JobStatus, NewJob
from fleetward.domain.notifications import Channel, ChannelPreference, Notification
from fleetward.domain.pagination import Page
from fleetward.domain.webhook_events import DomainEvent
from tests.fakes.rows import (
    FakeRows,
    not_faked,
)


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
        raise not_faked("events.unpublished")

    def mark_published(self, event_ids: Sequence[int], at: datetime) -> None:
        raise not_faked("events.mark_published")


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
