"""Tickets, the boards they live on, and how alerts become them."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from fleetward.domain.alerts import Severity
from fleetward.domain.listing import Sort


class StatusKind(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


# Matched against the tenant's priority names, case-insensitively.
SEVERITY_PRIORITY = {
    Severity.CRITICAL: "urgent",
    Severity.MAJOR: "high",
    Severity.MODERATE: "medium",
    Severity.MINOR: "low",
    Severity.NONE: "low",
}

DEFAULT_STATUSES = (
    ("New", StatusKind.OPEN),
    ("In progress", StatusKind.OPEN),
    ("Waiting", StatusKind.OPEN),
    ("Resolved", StatusKind.CLOSED),
    ("Closed", StatusKind.CLOSED),
)
DEFAULT_PRIORITIES = ("Urgent", "High", "Medium", "Low")

# What ticket lists sort by: status and priority in their board's and the tenant's
# order (a ticket without a priority last), created_at is the ticket's age. The
# default is the newest first, the API's order.
TICKET_SORTS = ("number", "title", "status", "priority", "created_at", "updated_at")
TICKET_DEFAULT_SORT = Sort("number", descending=True)


def retrigger_comment(occurrence: int) -> str:
    return f"Alert re-triggered: occurrence {occurrence}"


@dataclass(frozen=True, slots=True)
class TicketActivity:
    """What people have done to a ticket, which decides whether a reset may close it."""

    status_id: uuid.UUID
    board_default_status_id: uuid.UUID | None  # None: no status counts as untouched
    user_comments: int
    time_entries: int
    other_active_alerts: int


def untouched(activity: TicketActivity) -> bool:
    """Nobody has worked on it: still in the board's default status, no comment, no time."""
    return (
        activity.status_id == activity.board_default_status_id
        and activity.user_comments == 0
        and activity.time_entries == 0
    )


def may_auto_resolve(activity: TicketActivity) -> bool:
    return untouched(activity) and activity.other_active_alerts == 0


def default_title(device_name: str, title: str) -> str:
    return f"{device_name}: {title}" if device_name else title


@dataclass(frozen=True, slots=True)
class TicketDraft:
    title: str
    description: str
    board_id: uuid.UUID
    status_id: uuid.UUID
    priority_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    client_id: uuid.UUID
    dedup_key: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class Board:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    default_status_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TicketStatus:
    id: uuid.UUID
    tenant_id: uuid.UUID
    board_id: uuid.UUID
    name: str
    kind: StatusKind
    position: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Priority:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    position: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    id: uuid.UUID
    tenant_id: uuid.UUID
    number: int
    board_id: uuid.UUID
    status_id: uuid.UUID
    priority_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    client_id: uuid.UUID | None
    title: str
    description: str
    dedup_key: str | None
    occurrence_count: int
    is_closed: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    # Closed by an alert reset, not a person: only then may a new trigger of the same
    # key reopen it (domain/flapping.py).
    auto_closed: bool = False


@dataclass(frozen=True, slots=True)
class Comment:
    id: uuid.UUID
    tenant_id: uuid.UUID
    ticket_id: uuid.UUID
    author_type: str  # system | user
    author_id: uuid.UUID | None
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TimeEntry:
    id: uuid.UUID
    tenant_id: uuid.UUID
    ticket_id: uuid.UUID
    user_id: uuid.UUID | None
    minutes: int
    note: str
    created_at: datetime
