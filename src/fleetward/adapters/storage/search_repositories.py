"""The global search's queries: one tenant's objects whose text holds the query.

A substring (LIKE '%x%') cannot use a B-tree index, so each kind scans its
tenant's rows; what bounds the cost is the LIMIT on the hits and on the count
(COUNT_CAP): a query stops reading once it has them. The alerts' hits walk the
(tenant_id, occurred_at, id) index newest first and stop at the limit.
ILIKE is SQLAlchemy's portable case-insensitive LIKE (lower() on SQLite, ILIKE on
PostgreSQL); the pattern's own `%`, `_` and `\\` are escaped (domain/search.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, literal, or_, select
from sqlalchemy.sql.elements import UnaryExpression

from fleetward.adapters.storage import schema
from fleetward.domain.search import (
    COUNT_CAP,
    LIKE_ESCAPE,
    Hit,
    KindHits,
    SearchKind,
    SearchQuery,
    like_pattern,
)


def _contains(column: Any, query: SearchQuery) -> ColumnElement[bool]:
    matched: ColumnElement[bool] = column.ilike(like_pattern(query.text), escape=LIKE_ESCAPE)
    return matched


class SearchRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _hits(
        self,
        kind: SearchKind,
        table: Any,
        tenant_id: uuid.UUID,
        where: ColumnElement[bool],
        order: Sequence[ColumnElement[Any] | UnaryExpression[Any]],
        limit: int,
        to_hit: Callable[[Any], Hit],
    ) -> KindHits:
        scoped = (table.c.tenant_id == tenant_id, where)
        rows = self.conn.execute(select(table).where(*scoped).order_by(*order).limit(limit)).all()
        total = self._count(table, scoped, len(rows), limit)
        return KindHits(
            kind, [to_hit(row) for row in rows], min(total, COUNT_CAP), total > COUNT_CAP
        )

    def _count(
        self, table: Any, scoped: tuple[ColumnElement[bool], ...], found: int, limit: int
    ) -> int:
        """How many match, up to COUNT_CAP + 1. Fewer hits than the limit are all of
        them: no second scan (a query that matches little costs one scan, not two)."""
        if found < limit:
            return found
        matched = select(literal(1)).select_from(table).where(*scoped).limit(COUNT_CAP + 1)
        total: int = self.conn.execute(
            select(func.count()).select_from(matched.subquery())
        ).scalar_one()
        return total

    def tickets(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits:
        t = schema.ticket
        where = _contains(t.c.title, query)
        first: list[ColumnElement[Any]] = []
        if query.ticket_number is not None:
            where = or_(where, t.c.number == query.ticket_number)
            # The ticket the number names comes first.
            first = [case((t.c.number == query.ticket_number, 0), else_=1)]
        return self._hits(
            SearchKind.TICKETS,
            t,
            tenant_id,
            where,
            [*first, t.c.created_at.desc(), t.c.id.desc()],
            limit,
            _ticket_hit,
        )

    def ticket_by_number(self, tenant_id: uuid.UUID, number: int) -> Hit | None:
        t = schema.ticket
        row = self.conn.execute(
            select(t).where(t.c.tenant_id == tenant_id, t.c.number == number)
        ).first()
        return _ticket_hit(row) if row else None

    def alerts(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits:
        t = schema.alert
        where = or_(
            _contains(t.c.title, query),
            _contains(t.c.device_name, query),
            _contains(t.c.device_external_id, query),
        )
        return self._alert_hits(tenant_id, where, limit)

    def _alert_hits(self, tenant_id: uuid.UUID, where: ColumnElement[bool], limit: int) -> KindHits:
        t = schema.alert
        scoped = (t.c.tenant_id == tenant_id, where)
        # Only the columns a hit shows: an alert row carries its trace and raw payload.
        rows = self.conn.execute(
            select(
                t.c.id,
                t.c.title,
                t.c.device_name,
                t.c.device_external_id,
                t.c.severity,
                t.c.status,
                t.c.occurred_at,
            )
            .where(*scoped)
            .order_by(t.c.occurred_at.desc(), t.c.id.desc())
            .limit(limit)
        ).all()
        total = self._count(t, scoped, len(rows), limit)
        hits = [
            Hit(
                row.id,
                row.title,
                f"{row.device_name or row.device_external_id} · {row.severity} · {row.status}",
                row.occurred_at,
            )
            for row in rows
        ]
        return KindHits(SearchKind.ALERTS, hits, min(total, COUNT_CAP), total > COUNT_CAP)

    def devices(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits:
        t = schema.asset
        return self._hits(
            SearchKind.DEVICES,
            t,
            tenant_id,
            or_(_contains(t.c.name, query), _contains(t.c.external_device_id, query)),
            [t.c.name, t.c.id],
            limit,
            lambda row: Hit(
                row.id, row.name or row.external_device_id, row.external_device_id, row.updated_at
            ),
        )

    def clients(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits:
        t = schema.client
        return self._hits(
            SearchKind.CLIENTS,
            t,
            tenant_id,
            _contains(t.c.name, query),
            [t.c.name, t.c.id],
            limit,
            lambda row: Hit(row.id, row.name, row.notes[:120], row.created_at),
        )

    def agents(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits:
        t = schema.agent
        return self._hits(
            SearchKind.AGENTS,
            t,
            tenant_id,
            _contains(t.c.hostname, query),
            [t.c.hostname, t.c.id],
            limit,
            lambda row: Hit(
                row.id,
                row.hostname,
                f"{row.os}{' · revoked' if row.revoked_at else ''}",
                row.last_seen_at,
            ),
        )


def _ticket_hit(row: Any) -> Hit:
    return Hit(
        row.id,
        f"#{row.number} {row.title}",
        "closed" if row.is_closed else "open",
        row.created_at,
    )
