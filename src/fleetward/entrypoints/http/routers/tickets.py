"""/api/v1/tickets, with their comments and time entries.

Operators and admins write tickets; everyone reads them. Closing a ticket is
a PATCH of its status to a closed-kind status: its active alerts are resolved
in the same transaction. Board, status, priority, client and assignee ids in a
body must be the caller's own (422 naming the field).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from fleetward.domain.listing import parse_sort
from fleetward.domain.tickets import TICKET_DEFAULT_SORT, TICKET_SORTS, Comment, TimeEntry
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import (
    CursorQuery,
    Limit,
    SortQuery,
    StandardRoutes,
    page_of,
)
from fleetward.entrypoints.http.schemas import In, LongText, Out, Page, Text
from fleetward.services.tickets import MINUTES_RANGE, TITLE_MAX, TicketView

Title = Annotated[Text, Field(min_length=1, max_length=TITLE_MAX)]
IdFilter = Annotated[uuid.UUID | None, Query()]


class TicketIn(In):
    title: Title
    description: LongText = ""
    board_id: uuid.UUID | None = Field(None, description="Default: the tenant's first board")
    client_id: uuid.UUID | None = None
    priority_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = Field(None, description="A user of the tenant")


class TicketPatch(In):
    status_id: uuid.UUID | None = Field(
        None,
        description="A status of the ticket's board: a closed-kind one closes the ticket "
        "(resolving its active alerts), an open one reopens a closed ticket",
    )
    priority_id: uuid.UUID | None = Field(None, description="null clears it")
    assignee_id: uuid.UUID | None = Field(None, description="null unassigns")
    title: Title | None = None
    description: LongText | None = None


class TicketOut(Out):
    id: uuid.UUID
    number: int = Field(description="Per tenant, from 1")
    board_id: uuid.UUID
    status_id: uuid.UUID
    priority_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    client_id: uuid.UUID | None
    title: str
    description: str
    dedup_key: str | None = Field(description="client|device|condition; null when opened by hand")
    occurrence_count: int = Field(description="Alert occurrences merged into it")
    is_closed: bool
    auto_closed: bool = Field(
        description="Closed by an alert reset, not a person: a new trigger of the same "
        "condition within the tenant's reopen_window_minutes reopens it"
    )
    flapping: bool = Field(
        description="Open, and its alert condition is flapping: resets leave it open"
    )
    alert_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class CommentIn(In):
    body: Annotated[LongText, Field(min_length=1)]


class CommentOut(Out):
    id: uuid.UUID
    ticket_id: uuid.UUID
    author_type: str = Field(description="user, or system for what the pipeline and closes write")
    author_id: uuid.UUID | None
    body: str
    created_at: datetime


class TimeEntryIn(In):
    minutes: int = Field(ge=MINUTES_RANGE[0], le=MINUTES_RANGE[1])
    note: LongText = ""


class TimeEntryOut(Out):
    id: uuid.UUID
    ticket_id: uuid.UUID
    user_id: uuid.UUID | None
    minutes: int
    note: str
    created_at: datetime


router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


def _out(view: TicketView) -> dict[str, Any]:
    return {
        **dataclasses.asdict(view.ticket),
        "alert_ids": list(view.alert_ids),
        "flapping": view.flapping,
    }


@router.get("", response_model=Page[TicketOut])
def list_tickets(
    c: ContainerDep,
    who: PrincipalDep,
    status_id: IdFilter = None,
    board_id: IdFilter = None,
    client_id: IdFilter = None,
    priority_id: IdFilter = None,
    assignee_id: IdFilter = None,
    is_closed: Annotated[bool | None, Query()] = None,
    sort: SortQuery = None,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Newest first (highest number first) unless `sort` says otherwise (`number`,
    `title`, `status`, `priority`, `created_at` or `updated_at`, `-` before it for
    descending); `total` counts every match. Filters combine with AND."""
    filters: dict[str, Any] = {
        "status_id": status_id,
        "board_id": board_id,
        "client_id": client_id,
        "priority_id": priority_id,
        "assignee_id": assignee_id,
        "is_closed": is_closed,
    }
    where = {key: value for key, value in filters.items() if value is not None}
    order = parse_sort(sort, TICKET_SORTS, TICKET_DEFAULT_SORT)
    return page_of(c.tickets.search(who, limit, cursor, order, **where), _out)


@router.post("", status_code=201, response_model=TicketOut)
def create_ticket(body: TicketIn, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """Opened by hand, in the board's default status; alerts never merge into it."""
    view = c.tickets.create(
        who,
        body.title,
        body.description,
        body.board_id,
        body.client_id,
        body.priority_id,
        body.assignee_id,
    )
    return _out(view)


def _sent(body: TicketPatch) -> dict[str, Any]:
    return {name: getattr(body, name) for name in body.model_fields_set}


# Tickets are closed, never deleted; their list has filters of its own (above).
tickets = StandardRoutes[()](router, "/{ticket_id}", TicketOut, "ticket")
tickets.get(lambda c, who, ticket_id: _out(c.tickets.get(who, ticket_id)))
tickets.patch(
    TicketPatch,
    lambda c, who, ticket_id, body: _out(c.tickets.update(who, ticket_id, _sent(body))),
    doc="Only the fields sent change. Reopening is refused (409) while another ticket is\n"
    "open for the same alert condition.",
)

comments = StandardRoutes[uuid.UUID](
    router, "/{ticket_id}/comments/{comment_id}", CommentOut, "comment"
)
comments.list(
    lambda c, who, ticket_id, limit, cursor: c.tickets.list_comments(who, ticket_id, limit, cursor),
    doc="Oldest first, system comments (re-triggers, resets, closes) included.",
)


@router.post("/{ticket_id}/comments", status_code=201, response_model=CommentOut)
def create_comment(
    ticket_id: uuid.UUID, body: CommentIn, c: ContainerDep, who: PrincipalDep
) -> Comment:
    """A person's comment: the ticket counts as worked on, so an alert reset leaves it open."""
    return c.tickets.add_comment(who, ticket_id, body.body)


time_entries = StandardRoutes[uuid.UUID](
    router, "/{ticket_id}/time-entries/{entry_id}", TimeEntryOut, "time_entry", "time_entries"
)
time_entries.list(
    lambda c, who, ticket_id, limit, cursor: c.tickets.list_time_entries(
        who, ticket_id, limit, cursor
    ),
    doc="Oldest first.",
)


@router.post("/{ticket_id}/time-entries", status_code=201, response_model=TimeEntryOut)
def create_time_entry(
    ticket_id: uuid.UUID, body: TimeEntryIn, c: ContainerDep, who: PrincipalDep
) -> TimeEntry:
    """Time worked, 1 to 1440 minutes, booked to the caller."""
    return c.tickets.add_time_entry(who, ticket_id, body.minutes, body.note)
