"""What a change leaves for others, written in its transaction: domain events.

Notifications have their own module (notification_repositories.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from fleetward.adapters.storage import hot_sql, schema
from fleetward.domain.webhook_events import DomainEvent


class EventOutbox:
    """Domain events for webhook subscriptions and the bus, written with the change."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, tenant_id: uuid.UUID, type_: str, payload: dict[str, Any], at: datetime) -> None:
        params = {"tenant_id": tenant_id, "type": type_, "payload": payload, "created_at": at}
        hot_sql.execute(
            self.conn, ("insert", "domain_event"), lambda: insert(schema.domain_event), params
        )

    def unpublished(self, limit: int) -> list[DomainEvent]:
        """The oldest events not yet handed to subscriptions, any tenant's (the
        dispatcher's), locked against another dispatcher on PostgreSQL."""
        e = schema.domain_event
        query = (
            select(e.c.id, e.c.tenant_id, e.c.type, e.c.payload, e.c.created_at)
            .where(e.c.published_at.is_(None))
            .order_by(e.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [DomainEvent(**row) for row in self.conn.execute(query).mappings()]

    def mark_published(self, event_ids: Sequence[int], at: datetime) -> None:
        e = schema.domain_event
        self.conn.execute(update(e).where(e.c.id.in_(list(event_ids))).values(published_at=at))

    def delete_published_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` events, any tenant's, published before `cutoff`; how many.

        The newest event is never deleted. SQLite gives a new row the largest id
        in the table plus one, so with the newest rows gone it would hand out their
        ids again, and a delivery job keyed by event id ("{event}:{subscription}")
        still kept would make the new event's delivery look like a replay of the
        old one, and it would never be sent. PostgreSQL's sequence never goes back.
        """
        e = schema.domain_event
        newest = select(func.max(e.c.id)).scalar_subquery()
        some = select(e.c.id).where(e.c.published_at < cutoff, e.c.id < newest).limit(limit)
        result = self.conn.execute(delete(e).where(e.c.id.in_(some)))
        return int(result.rowcount)
