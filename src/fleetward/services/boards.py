"""Boards, their statuses, and priorities: the settings tickets live in.

Settings, so admins write them and everyone reads them. A tenant that never
had any gets the default set (design: "made on first need") on its first look
or change, so it is usable at once.
"""

from __future__ import annotations

import uuid
from typing import Any

from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.domain.pagination import Page
from fleetward.domain.tenancy import clean_name
from fleetward.domain.tickets import Board, Priority, StatusKind, TicketStatus
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, Repositories, UnitOfWork
from fleetward.services.resources import ScopedResource
from fleetward.services.ticket_defaults import create_board, ensure_defaults
from fleetward.services.tickets import WritingService, present

LABEL_MAX = 100  # status and priority names: short labels, and the columns' size


def short_name(value: str, field: str = "name") -> str:
    name = clean_name(value, field)
    if len(name) > LABEL_MAX:
        raise InvalidInput(f"{field} must be at most {LABEL_MAX} characters", field=field)
    return name


def _rule_naming(
    repos: Repositories, tenant_id: uuid.UUID, action: str, object_id: uuid.UUID
) -> str | None:
    """The first alert rule whose actions name this object; the pipeline would trip on it."""
    for rule in repos.rules.ordered(tenant_id):
        if getattr(rule.actions, action) == object_id:
            return str(rule.name)
    return None


def _name_free(
    repos: Repositories, tenant_id: uuid.UUID, name: str, own_id: uuid.UUID | None = None
) -> None:
    """The pipeline finds priorities by name ignoring case, so names must differ in more."""
    taken = repos.priorities.by_name(tenant_id, name)
    if taken is not None and taken.id != own_id:
        raise Conflict(f"priority {taken.name!r} already has this name", field="name")


class BoardService(WritingService):
    """Boards with their statuses, and priorities."""

    def __init__(self, uow: UnitOfWork, clock: Clock, probes: CrossTenantProbes) -> None:
        super().__init__(uow, clock)
        self.boards = ScopedResource[Board](
            uow, clock, probes, "board", lambda r: r.boards, Access.ADMIN
        )
        self.statuses = ScopedResource[TicketStatus](
            uow, clock, probes, "ticket_status", lambda r: r.statuses, Access.ADMIN
        )
        self.priorities = ScopedResource[Priority](
            uow, clock, probes, "priority", lambda r: r.priorities, Access.ADMIN
        )

    def _ensure_defaults(self, principal: Principal) -> None:
        """A tenant that never had a board gets the default set on first look, usable at once."""
        principal.require(Access.READ)
        with self.uow.read() as repos:
            if repos.boards.first(principal.tenant_id) is not None:
                return
        with self._writing(principal, Access.READ) as repos:
            ensure_defaults(repos, principal.tenant_id, self.clock)

    # Boards

    def list_boards(
        self, principal: Principal, limit: int | None, cursor: str | None
    ) -> Page[Board]:
        self._ensure_defaults(principal)
        return self.boards.page(principal, limit, cursor)

    def get_board(self, principal: Principal, board_id: uuid.UUID) -> Board:
        return self.boards.get(principal, board_id)

    def create_board(self, principal: Principal, name: str) -> Board:
        clean = clean_name(name)
        with self._writing(principal, Access.ADMIN) as repos:
            # The default set comes first, so the first board stays the one alerts land on.
            ensure_defaults(repos, principal.tenant_id, self.clock)
            board = create_board(repos, principal.tenant_id, clean, self.clock())
            self._audit(repos, principal, "board.create", board, after=board)
        return board

    def update_board(
        self,
        principal: Principal,
        board_id: uuid.UUID,
        name: str | None,
        default_status_id: uuid.UUID | None,
    ) -> Board:
        principal.require(Access.ADMIN)
        self.boards.get(principal, board_id)
        with self._writing(principal, Access.ADMIN) as repos:
            before: Board = present(
                repos.boards.get(principal.tenant_id, board_id), "board", board_id
            )
            changes: dict[str, Any] = {}
            if name is not None:
                changes["name"] = clean_name(name)
            if default_status_id is not None:
                field = "default_status_id"
                status = repos.statuses.get(
                    principal.tenant_id, default_status_id, board_id=board_id
                )
                if status is None:
                    raise InvalidInput(f"{field} names no status of this board", field=field)
                if status.kind is not StatusKind.OPEN:
                    raise InvalidInput(
                        f"{field} must be an open status: new tickets start in it", field=field
                    )
                changes[field] = status.id
            return self._apply(repos, principal, "board", before, changes)

    def delete_board(self, principal: Principal, board_id: uuid.UUID) -> None:
        principal.require(Access.ADMIN)
        self.boards.get(principal, board_id)
        with self._writing(principal, Access.ADMIN) as repos:
            tenant_id = principal.tenant_id
            board = present(repos.boards.get(tenant_id, board_id), "board", board_id)
            used = repos.tickets.count(tenant_id, board_id=board_id)
            if used:
                raise Conflict(f"{used} ticket(s) are on this board: only an empty board goes")
            if repos.boards.count(tenant_id) == 1:
                raise Conflict("the last board stays: alerts and new tickets land on it")
            rule = _rule_naming(repos, tenant_id, "board_id", board_id)
            for status in repos.statuses.of_board(tenant_id, board_id):
                rule = rule or _rule_naming(repos, tenant_id, "auto_resolve_status_id", status.id)
            if rule is not None:
                raise Conflict(f"alert rule {rule!r} uses this board or its statuses: change it")
            repos.boards.delete(tenant_id, board_id)  # its statuses go with it
            self._audit(repos, principal, "board.delete", board, before=board)

    # Statuses of a board, always reached through it

    def list_statuses(self, principal: Principal, board_id: uuid.UUID) -> list[TicketStatus]:
        self.boards.get(principal, board_id)
        with self.uow.read() as repos:
            statuses = repos.statuses.of_board(principal.tenant_id, board_id)
        return sorted(statuses, key=lambda s: (s.position, s.created_at, s.id))

    def get_status(
        self, principal: Principal, board_id: uuid.UUID, status_id: uuid.UUID
    ) -> TicketStatus:
        self.boards.get(principal, board_id)
        return self.statuses.get(principal, status_id, board_id=board_id)

    def create_status(
        self, principal: Principal, board_id: uuid.UUID, name: str, kind: StatusKind
    ) -> TicketStatus:
        principal.require(Access.ADMIN)
        self.boards.get(principal, board_id)
        clean = short_name(name)
        with self._writing(principal, Access.ADMIN) as repos:
            present(repos.boards.get(principal.tenant_id, board_id), "board", board_id)
            existing = repos.statuses.of_board(principal.tenant_id, board_id)
            position = max((s.position for s in existing), default=-1) + 1  # new ones go last
            status = TicketStatus(
                new_id(), principal.tenant_id, board_id, clean, kind, position, self.clock()
            )
            repos.statuses.insert(status)
            self._audit(repos, principal, "ticket_status.create", status, after=status)
        return status

    def update_status(
        self,
        principal: Principal,
        board_id: uuid.UUID,
        status_id: uuid.UUID,
        name: str | None,
        kind: StatusKind | None,
        position: int | None,
    ) -> TicketStatus:
        self.get_status(principal, board_id, status_id)
        with self._writing(principal, Access.ADMIN) as repos:
            tenant_id = principal.tenant_id
            found = repos.statuses.get(tenant_id, status_id, board_id=board_id)
            before: TicketStatus = present(found, "ticket_status", status_id)
            changes: dict[str, Any] = {}
            if name is not None:
                changes["name"] = short_name(name)
            if position is not None:
                changes["position"] = position
            if kind is not None and kind is not before.kind:
                # Tickets mirror their status kind in is_closed; flipping it under them
                # would close or reopen them without the close's side effects.
                board = repos.boards.get(tenant_id, board_id)
                if board is not None and board.default_status_id == status_id:
                    raise Conflict("the board's default status must stay open", field="kind")
                used = repos.tickets.count(tenant_id, status_id=status_id)
                if used:
                    raise Conflict(
                        f"{used} ticket(s) are in this status: its kind stays", field="kind"
                    )
                changes["kind"] = kind
            return self._apply(repos, principal, "ticket_status", before, changes)

    def delete_status(
        self, principal: Principal, board_id: uuid.UUID, status_id: uuid.UUID
    ) -> None:
        self.get_status(principal, board_id, status_id)
        with self._writing(principal, Access.ADMIN) as repos:
            tenant_id = principal.tenant_id
            status = repos.statuses.get(tenant_id, status_id, board_id=board_id)
            status = present(status, "ticket_status", status_id)
            board = repos.boards.get(tenant_id, board_id)
            if board is not None and board.default_status_id == status_id:
                raise Conflict("this is the board's default status: choose another one first")
            used = repos.tickets.count(tenant_id, status_id=status_id)
            if used:
                raise Conflict(f"{used} ticket(s) are in this status: move them first")
            rule = _rule_naming(repos, tenant_id, "auto_resolve_status_id", status_id)
            if rule is not None:
                raise Conflict(f"alert rule {rule!r} closes tickets with this status")
            repos.statuses.delete(tenant_id, status_id)
            self._audit(repos, principal, "ticket_status.delete", status, before=status)

    # Priorities

    def list_priorities(self, principal: Principal) -> list[Priority]:
        self._ensure_defaults(principal)
        with self.uow.read() as repos:
            found: list[Priority] = repos.priorities.ordered(principal.tenant_id)
        return found

    def get_priority(self, principal: Principal, priority_id: uuid.UUID) -> Priority:
        return self.priorities.get(principal, priority_id)

    def create_priority(self, principal: Principal, name: str) -> Priority:
        clean = short_name(name)
        with self._writing(principal, Access.ADMIN) as repos:
            ensure_defaults(repos, principal.tenant_id, self.clock)
            _name_free(repos, principal.tenant_id, clean)
            existing = repos.priorities.ordered(principal.tenant_id)
            position = max((p.position for p in existing), default=-1) + 1
            priority = Priority(new_id(), principal.tenant_id, clean, position, self.clock())
            repos.priorities.insert(priority)
            self._audit(repos, principal, "priority.create", priority, after=priority)
        return priority

    def update_priority(
        self,
        principal: Principal,
        priority_id: uuid.UUID,
        name: str | None,
        position: int | None,
    ) -> Priority:
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = short_name(name)
        if position is not None:
            changes["position"] = position
        principal.require(Access.ADMIN)
        self.priorities.get(principal, priority_id)
        with self._writing(principal, Access.ADMIN) as repos:
            found = repos.priorities.get(principal.tenant_id, priority_id)
            before: Priority = present(found, "priority", priority_id)
            if "name" in changes:
                _name_free(repos, principal.tenant_id, changes["name"], priority_id)
            return self._apply(repos, principal, "priority", before, changes)

    def delete_priority(self, principal: Principal, priority_id: uuid.UUID) -> None:
        """Tickets with this priority keep going, with none (the column is SET NULL)."""
        principal.require(Access.ADMIN)
        self.priorities.get(principal, priority_id)
        with self._writing(principal, Access.ADMIN) as repos:
            tenant_id = principal.tenant_id
            priority = present(
                repos.priorities.get(tenant_id, priority_id), "priority", priority_id
            )
            rule = _rule_naming(repos, tenant_id, "priority_id", priority_id)
            if rule is not None:
                raise Conflict(f"alert rule {rule!r} gives tickets this priority: change it first")
            repos.priorities.delete(tenant_id, priority_id)
            self._audit(repos, principal, "priority.delete", priority, before=priority)
