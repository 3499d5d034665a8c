"""/api/v1/boards (with their statuses) and /api/v1/priorities: ticket settings.

Admins write them, everyone reads them. A tenant's first look at either
creates the default set (a "Service Desk" board, its statuses, four
priorities). Statuses and priorities are short ordered lists: they come whole,
by position, and `next` is always null.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field

from fleetward.domain.pagination import Page as DomainPage
from fleetward.domain.tickets import Board, Priority, StatusKind, TicketStatus
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import CursorQuery, Limit
from fleetward.entrypoints.http.schemas import In, Name, Out, Page, Text

Label = Annotated[Text, Field(min_length=1, max_length=100)]
Position = Annotated[int, Field(ge=0, le=10_000, description="Lists are ordered by it")]


class BoardIn(In):
    name: Name


class BoardPatch(In):
    name: Name | None = None
    default_status_id: uuid.UUID | None = Field(
        None, description="An open status of this board: where new tickets start"
    )


class BoardOut(Out):
    id: uuid.UUID
    name: str
    default_status_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class StatusIn(In):
    name: Label
    kind: StatusKind = Field(description="`closed` statuses close the tickets moved to them")


class StatusPatch(In):
    name: Label | None = None
    kind: StatusKind | None = Field(None, description="Only while no ticket is in the status")
    position: Position | None = None


class StatusOut(Out):
    id: uuid.UUID
    board_id: uuid.UUID
    name: str
    kind: StatusKind
    position: int
    created_at: datetime


class PriorityIn(In):
    name: Label


class PriorityPatch(In):
    name: Label | None = None
    position: Position | None = None


class PriorityOut(Out):
    id: uuid.UUID
    name: str
    position: int
    created_at: datetime


boards = APIRouter(prefix="/api/v1/boards", tags=["tickets"])
priorities = APIRouter(prefix="/api/v1/priorities", tags=["tickets"])


def _whole(items: list[Any]) -> dict[str, Any]:
    return {"items": items, "next": None}


@boards.get("", response_model=Page[BoardOut])
def list_boards(
    c: ContainerDep, who: PrincipalDep, limit: Limit = None, cursor: CursorQuery = None
) -> DomainPage[Board]:
    """Oldest first; the first board is where alerts without a rule board land."""
    return c.boards.list_boards(who, limit, cursor)


@boards.post("", status_code=201, response_model=BoardOut)
def create_board(body: BoardIn, c: ContainerDep, who: PrincipalDep) -> Board:
    """The new board gets the default statuses, New its default."""
    return c.boards.create_board(who, body.name)


@boards.get("/{board_id}", response_model=BoardOut)
def get_board(board_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Board:
    return c.boards.get_board(who, board_id)


@boards.patch("/{board_id}", response_model=BoardOut)
def update_board(
    board_id: uuid.UUID, body: BoardPatch, c: ContainerDep, who: PrincipalDep
) -> Board:
    return c.boards.update_board(who, board_id, body.name, body.default_status_id)


@boards.delete("/{board_id}", status_code=204)
def delete_board(board_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Response:
    """409 while tickets are on it, for the last board, or when an alert rule names it."""
    c.boards.delete_board(who, board_id)
    return Response(status_code=204)


@boards.get("/{board_id}/statuses", response_model=Page[StatusOut])
def list_statuses(board_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    return _whole(c.boards.list_statuses(who, board_id))


@boards.post("/{board_id}/statuses", status_code=201, response_model=StatusOut)
def create_status(
    board_id: uuid.UUID, body: StatusIn, c: ContainerDep, who: PrincipalDep
) -> TicketStatus:
    """New statuses go last."""
    return c.boards.create_status(who, board_id, body.name, body.kind)


@boards.get("/{board_id}/statuses/{status_id}", response_model=StatusOut)
def get_status(
    board_id: uuid.UUID, status_id: uuid.UUID, c: ContainerDep, who: PrincipalDep
) -> TicketStatus:
    return c.boards.get_status(who, board_id, status_id)


@boards.patch("/{board_id}/statuses/{status_id}", response_model=StatusOut)
def update_status(
    board_id: uuid.UUID,
    status_id: uuid.UUID,
    body: StatusPatch,
    c: ContainerDep,
    who: PrincipalDep,
) -> TicketStatus:
    return c.boards.update_status(who, board_id, status_id, body.name, body.kind, body.position)


@boards.delete("/{board_id}/statuses/{status_id}", status_code=204)
def delete_status(
    board_id: uuid.UUID, status_id: uuid.UUID, c: ContainerDep, who: PrincipalDep
) -> Response:
    """409 while tickets are in it, for the board's default, or when an alert rule names it."""
    c.boards.delete_status(who, board_id, status_id)
    return Response(status_code=204)


@priorities.get("", response_model=Page[PriorityOut])
def list_priorities(c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    return _whole(c.boards.list_priorities(who))


@priorities.post("", status_code=201, response_model=PriorityOut)
def create_priority(body: PriorityIn, c: ContainerDep, who: PrincipalDep) -> Priority:
    """New priorities go last (least urgent)."""
    return c.boards.create_priority(who, body.name)


@priorities.get("/{priority_id}", response_model=PriorityOut)
def get_priority(priority_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Priority:
    return c.boards.get_priority(who, priority_id)


@priorities.patch("/{priority_id}", response_model=PriorityOut)
def update_priority(
    priority_id: uuid.UUID, body: PriorityPatch, c: ContainerDep, who: PrincipalDep
) -> Priority:
    return c.boards.update_priority(who, priority_id, body.name, body.position)


@priorities.delete("/{priority_id}", status_code=204)
def delete_priority(priority_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Response:
    """Tickets with it are left without a priority; 409 when an alert rule names it."""
    c.boards.delete_priority(who, priority_id)
    return Response(status_code=204)
