"""Repositories of tickets and the boards, statuses and priorities they live on."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    false,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from fleetward.adapters.storage import hot_sql, schema
from fleetward.adapters.storage.hot_sql import cached_statement
from fleetward.adapters.storage.listing import sorted_page
from fleetward.adapters.storage.repositories import TenantRows, _to
from fleetward.domain.errors import Conflict
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page
from fleetward.domain.tickets import (
    TICKET_DEFAULT_SORT,
    Board,
    Priority,
    StatusKind,
    Ticket,
    TicketStatus,
)

# Above any position a tenant's priorities take (a handful, from 0).
NO_PRIORITY_POSITION = 1_000_000


def _ticket_sorts() -> dict[str, ColumnElement[Any]]:
    t, status, priority = schema.ticket, schema.ticket_status, schema.priority
    # Workflow order: a board's statuses by position (New, In progress, ... Closed).
    status_position = select(status.c.position).where(status.c.id == t.c.status_id)
    priority_position = select(priority.c.position).where(priority.c.id == t.c.priority_id)
    return {
        "number": t.c.number,
        "title": func.lower(t.c.title),
        "status": func.coalesce(status_position.scalar_subquery(), 0),
        # Most urgent first ascending; no priority (or one deleted since) after every one.
        "priority": func.coalesce(priority_position.scalar_subquery(), NO_PRIORITY_POSITION),
        "created_at": t.c.created_at,
        "updated_at": t.c.updated_at,
    }


def _status(row: Mapping[Any, Any]) -> TicketStatus:
    return _to(TicketStatus, {**row, "kind": StatusKind(row["kind"])})


class TicketRepository(TenantRows[Ticket]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.ticket, Ticket, unique_fields=("dedup_key", "number"))

    def open_by_key(self, tenant_id: uuid.UUID, key: str) -> Ticket | None:
        t = schema.ticket

        def build() -> Any:
            return select(*self._columns()).where(
                t.c.tenant_id == bindparam("tenant_id"),
                t.c.dedup_key == bindparam("key"),
                # Spelled as the partial index's predicate, so both engines use it.
                t.c.is_closed == false(),
                t.c.dedup_key.is_not(None),
            )

        # A person reopening a ticket asks this; a trigger asks latest_by_key.
        statement = cached_statement(("ticket.open_by_key",), build)
        params = {"tenant_id": tenant_id, "key": key}
        row = self.conn.execute(statement, params).mappings().first()
        return None if row is None else _to(Ticket, row)

    def latest_by_key(self, tenant_id: uuid.UUID, key: str) -> Ticket | None:
        """The key's open ticket, else its most recently closed one (which a trigger
        may reopen), else None: one statement, each half on its own index (the open
        key's partial unique index; ix_ticket_closed_dedup_key (closed tickets only) read
        backwards for the last closed), so its cost does not grow with the key's
        closed tickets."""
        t = schema.ticket

        def build() -> Any:
            by_key = (t.c.tenant_id == bindparam("tenant_id"), t.c.dedup_key == bindparam("key"))
            # Spelled as the partial index's predicate, so both engines use it.
            open_ = select(*self._columns()).where(
                *by_key, t.c.is_closed == false(), t.c.dedup_key.is_not(None)
            )
            last_closed = (
                select(*self._columns())
                .where(*by_key, t.c.closed_at.is_not(None))
                .order_by(t.c.closed_at.desc(), t.c.number.desc())
                .limit(1)
                .subquery()
            )
            return union_all(open_, select(*last_closed.c))

        params = {"tenant_id": tenant_id, "key": key}
        rows = hot_sql.fetch_all(self.conn, ("ticket.latest_by_key",), build, params)
        # The open ticket wins; a union's rows come in no promised order.
        rows.sort(key=lambda row: bool(row["is_closed"]))
        return _to(Ticket, rows[0]) if rows else None

    def next_number(self, tenant_id: uuid.UUID) -> int:
        t = schema.ticket

        def build() -> Any:
            return select(func.max(t.c.number)).where(t.c.tenant_id == bindparam("tenant_id"))

        params = {"tenant_id": tenant_id}
        top = hot_sql.fetch_scalar(self.conn, ("ticket.next_number",), build, params)
        return 1 if top is None else int(top) + 1

    def bump_occurrence(self, ticket_id: uuid.UUID, at: datetime) -> int:
        t = schema.ticket
        self.conn.execute(
            update(t)
            .where(t.c.id == ticket_id)
            .values(occurrence_count=t.c.occurrence_count + 1, updated_at=at)
        )
        return int(
            self.conn.execute(select(t.c.occurrence_count).where(t.c.id == ticket_id)).scalar_one()
        )

    def activity(self, ticket_id: uuid.UUID) -> tuple[int, int]:
        """(user comments, time entries) on a ticket."""
        c, e = schema.ticket_comment, schema.time_entry
        comments = self.conn.execute(
            select(func.count()).where(and_(c.c.ticket_id == ticket_id, c.c.author_type == "user"))
        ).scalar_one()
        entries = self.conn.execute(
            select(func.count()).where(e.c.ticket_id == ticket_id)
        ).scalar_one()
        return int(comments), int(entries)

    def search(
        self,
        tenant_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        sort: Sort = TICKET_DEFAULT_SORT,
        count: bool = False,
        unassigned: bool = False,
        opened_after: datetime | None = None,
        opened_until: datetime | None = None,
        **where: Any,
    ) -> Page[Ticket]:
        """In `sort` order (newest first by default), keyset on (sort value, id);
        `where` holds exact filters, `unassigned` asks for tickets nobody holds, and
        opened_after/opened_until bound created_at (after, at or before: the
        overview's ticket ages)."""
        t = schema.ticket
        query = select(*self._columns()).where(t.c.tenant_id == tenant_id)
        for key, value in where.items():
            query = query.where(t.c[key] == value)
        if unassigned:
            query = query.where(t.c.assignee_id.is_(None))
        if opened_after is not None:
            query = query.where(t.c.created_at > opened_after)
        if opened_until is not None:
            query = query.where(t.c.created_at <= opened_until)
        rows, next_cursor, total = sorted_page(
            self.conn, query, _ticket_sorts(), t.c.id, sort, limit, cursor, count=count
        )
        return Page([_to(Ticket, r) for r in rows], next_cursor, total)

    def alert_ids(
        self, tenant_id: uuid.UUID, ticket_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        """The alerts linked to each ticket, oldest first: one query for a whole page."""
        a = schema.alert
        found: dict[uuid.UUID, list[uuid.UUID]] = {ticket_id: [] for ticket_id in ticket_ids}
        if not ticket_ids:
            return found
        rows = self.conn.execute(
            select(a.c.ticket_id, a.c.id)
            .where(a.c.tenant_id == tenant_id, a.c.ticket_id.in_(list(ticket_ids)))
            .order_by(a.c.created_at, a.c.id)
        ).all()
        for ticket_id, alert_id in rows:
            found[ticket_id].append(alert_id)
        return found


class BoardRepository(TenantRows[Board]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.board, Board)

    def first(self, tenant_id: uuid.UUID) -> Board | None:
        t = schema.board
        statement = cached_statement(
            ("board.first",),
            lambda: (
                select(*self._columns())
                .where(t.c.tenant_id == bindparam("tenant_id"))
                .order_by(t.c.created_at)
                .limit(1)
            ),
        )
        row = self.conn.execute(statement, {"tenant_id": tenant_id}).mappings().first()
        return None if row is None else _to(Board, row)


class StatusRepository(TenantRows[TicketStatus]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.ticket_status, TicketStatus, convert=_status)

    def of_board(self, tenant_id: uuid.UUID, board_id: uuid.UUID) -> list[TicketStatus]:
        t = schema.ticket_status
        return self.all_where(
            t.c.tenant_id == tenant_id, t.c.board_id == board_id, order_by=[t.c.position]
        )

    def insert(self, obj: TicketStatus) -> TicketStatus:
        values = {**dataclasses.asdict(obj), "kind": obj.kind.value}
        try:
            self.conn.execute(insert(schema.ticket_status).values(**values))
        except IntegrityError:
            raise Conflict("this board already has a status with this name", field="name") from None
        return obj


class PriorityRepository(TenantRows[Priority]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.priority, Priority)

    def by_name(self, tenant_id: uuid.UUID, name: str) -> Priority | None:
        t = schema.priority
        statement = cached_statement(
            ("priority.by_name",),
            lambda: select(*self._columns()).where(
                t.c.tenant_id == bindparam("tenant_id"),
                func.lower(t.c.name) == bindparam("name"),
            ),
        )
        params = {"tenant_id": tenant_id, "name": name.lower()}
        row = self.conn.execute(statement, params).mappings().first()
        return None if row is None else _to(Priority, row)

    def ordered(self, tenant_id: uuid.UUID) -> list[Priority]:
        t = schema.priority
        rows = (
            self.conn.execute(
                select(*self._columns())
                .where(t.c.tenant_id == tenant_id)
                .order_by(t.c.position, t.c.created_at, t.c.id)
            )
            .mappings()
            .all()
        )
        return [_to(Priority, r) for r in rows]
