"""The board, statuses and priorities a tenant starts with, made on first need."""

from __future__ import annotations

import uuid
from datetime import datetime

from fleetward.domain.ids import new_id
from fleetward.domain.tickets import (
    DEFAULT_PRIORITIES,
    DEFAULT_STATUSES,
    Board,
    Priority,
    TicketStatus,
)
from fleetward.services.ports import Clock, Repositories

DEFAULT_BOARD = "Service Desk"


def create_board(repos: Repositories, tenant_id: uuid.UUID, name: str, now: datetime) -> Board:
    """A board with the default statuses, the first of them (New) its default.

    Every board starts this way, the first one and those an admin adds, so a
    new board can take tickets at once.
    """
    board_id = new_id()
    statuses = [
        TicketStatus(new_id(), tenant_id, board_id, status_name, kind, position, now)
        for position, (status_name, kind) in enumerate(DEFAULT_STATUSES)
    ]
    board = Board(board_id, tenant_id, name, statuses[0].id, now, now)
    repos.boards.insert(board)
    for status in statuses:
        repos.statuses.insert(status)
    return board


def ensure_defaults(repos: Repositories, tenant_id: uuid.UUID, clock: Clock) -> Board:
    """Return the tenant's first board, creating a usable default set when it has none."""
    board: Board | None = repos.boards.first(tenant_id)
    if board is not None:
        return board
    now = clock()
    board = create_board(repos, tenant_id, DEFAULT_BOARD, now)
    if repos.priorities.count(tenant_id) == 0:
        for position, name in enumerate(DEFAULT_PRIORITIES):
            repos.priorities.insert(Priority(new_id(), tenant_id, name, position, now))
    return board
