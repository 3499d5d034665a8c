"""Outbox jobs: what a committed change still has to do outside the database.

A change that must call out (reset an alert at its provider, send an e-mail,
deliver a webhook) writes a job in its own transaction; a runner does the call
after the commit and retries it with backoff. So a crash between the commit and
the call delays the call, never loses it, and the call never holds up the change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# Retries double from the first wait up to the cap; a job is given up after
# GIVE_UP_AFTER unless its kind says otherwise (webhook deliveries: 24 h).
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # given up: retried until give_up_at, or refused for good


@dataclass(frozen=True, slots=True)
class Job:
    id: uuid.UUID  # also the stable delivery id a receiver can deduplicate on
    tenant_id: uuid.UUID
    kind: str
    ref_type: str | None
    ref_id: uuid.UUID | None
    key: str | None
    payload: dict[str, Any]
    status: JobStatus
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    give_up_at: datetime
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to enqueue; `key` makes enqueueing it twice one job."""

    tenant_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    key: str | None = None
    ref_type: str | None = None
    ref_id: uuid.UUID | None = None
    give_up_after: timedelta = GIVE_UP_AFTER


class JobFailed(Exception):
    """A handler's answer that the call did not work.

    retry_after: the receiver's own Retry-After, in seconds, when it sent one.
    permanent: retrying cannot help (the receiver refused the request as such).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after
        self.permanent = permanent


def next_attempt_at(attempts: int, now: datetime, retry_after: float | None = None) -> datetime:
    """When to try again after `attempts` failed tries: doubling, capped, never
    sooner than the receiver asked."""
    wait: timedelta = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=min(retry_after, MAX_RETRY.total_seconds())))
    return now + wait
