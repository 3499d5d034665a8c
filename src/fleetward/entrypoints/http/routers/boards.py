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

from fastapi import APIRouter
from pydantic import Field

from fleetward.domain.tickets import Board, Priority, StatusKind, TicketStatus
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import StandardRoutes
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


board_routes = StandardRoutes[()](boards, "/{board_id}", BoardOut, "board")
board_routes.list(
    lambda c, who, limit, cursor: c.boards.list_boards(who, limit, cursor),
    doc="Oldest first; the first board is where alerts without a rule board land.",
)


@boards.post("", status_code=201, response_model=BoardOut)
def create_board(body: BoardIn, c: ContainerDep, who: PrincipalDep) -> Board:
    """The new board gets the default statuses, New its default."""
    return c.boards.create_board(who, body.name)


board_routes.get(lambda c, who, board_id: c.boards.get_board(who, board_id))
board_routes.patch(
    BoardPatch,
    lambda c, who, board_id, body: c.boards.update_board(
        who, board_id, body.name, body.default_status_id
    ),
)
board_routes.delete(
    lambda c, who, board_id: c.boards.delete_board(who, board_id),
    doc="409 while tickets are on it, for the last board, or when an alert rule names it.",
)


@boards.get("/{board_id}/statuses", response_model=Page[StatusOut])
def list_statuses(board_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    return _whole(c.boards.list_statuses(who, board_id))


@boards.post("/{board_id}/statuses", status_code=201, response_model=StatusOut)
def create_status(
    board_id: uuid.UUID, body: StatusIn, c: ContainerDep, who: PrincipalDep
) -> TicketStatus:
    """New statuses go last."""
    return c.boards.create_status(who, board_id, body.name, body.kind)


# Statuses and priorities come whole: their lists are not the standard paged ones.
status_routes = StandardRoutes[uuid.UUID](
    boards, "/{board_id}/statuses/{status_id}", StatusOut, "status", "statuses"
)
status_routes.get(lambda c, who, board_id, status_id: c.boards.get_status(who, board_id, status_id))
status_routes.patch(
    StatusPatch,
    lambda c, who, board_id, status_id, body: c.boards.update_status(
        who, board_id, status_id, body.name, body.kind, body.position
    ),
)
status_routes.delete(
    lambda c, who, board_id, status_id: c.boards.delete_status(who, board_id, status_id),
    doc="409 while tickets are in it, for the board's default, or when an alert rule names it.",
)


@priorities.get("", response_model=Page[PriorityOut])
def list_priorities(c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    return _whole(c.boards.list_priorities(who))


@priorities.post("", status_code=201, response_model=PriorityOut)
def create_priority(body: PriorityIn, c: ContainerDep, who: PrincipalDep) -> Priority:
    """New priorities go last (least urgent)."""
    return c.boards.create_priority(who, body.name)


priority_routes = StandardRoutes[()](
    priorities, "/{priority_id}", PriorityOut, "priority", "priorities"
)
priority_routes.get(lambda c, who, priority_id: c.boards.get_priority(who, priority_id))
priority_routes.patch(
    PriorityPatch,
    lambda c, who, priority_id, body: c.boards.update_priority(
        who, priority_id, body.name, body.position
    ),
)
priority_routes.delete(
    lambda c, who, priority_id: c.boards.delete_priority(who, priority_id),
    doc="Tickets with it are left without a priority; 409 when an alert rule names it.",
)
