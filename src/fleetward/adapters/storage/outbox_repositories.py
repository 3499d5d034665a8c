"""What a change leaves for others, written in its transaction: domain events.

Notifications have their own module (notification_repositories.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from fleetward.adapters.storage import hot_sql, schema


class EventOutbox:
    """Domain events for webhook subscriptions and the bus, written with the change."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, tenant_id: uuid.UUID, type_: str, payload: dict[str, Any], at: datetime) -> None:
        params = {"tenant_id": tenant_id, "type": type_, "payload": payload, "created_at": at}
        hot_sql.execute(
            self.conn, ("insert", "domain_event"), lambda: insert(schema.domain_event), params
        )
