"""Notifications (one user's, newest first) and each user's channel preferences."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.repositories import TenantRows, _to, time_id_cursor
from fleetward.domain.notifications import Channel, ChannelPreference, ChatKind, Notification
from fleetward.domain.pagination import Page, encode_cursor

_N = schema.notification
_P = schema.notification_preference


class NotificationRepository(TenantRows[Notification]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, _N, Notification, unique_fields=())

    def newest(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        unread_only: bool = False,
    ) -> Page[Notification]:
        """One user's notifications, newest first, keyset on (created_at, id)."""
        query = select(*self._columns()).where(_N.c.tenant_id == tenant_id, _N.c.user_id == user_id)
        if unread_only:
            query = query.where(_N.c.read_at.is_(None))
        if cursor:
            before_at, before_id = time_id_cursor(cursor)
            query = query.where(
                or_(
                    _N.c.created_at < before_at,
                    and_(_N.c.created_at == before_at, _N.c.id < before_id),
                )
            )
        query = query.order_by(_N.c.created_at.desc(), _N.c.id.desc()).limit(limit + 1)
        rows = self.conn.execute(query).mappings().all()
        items = [_to(Notification, row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(last.created_at.isoformat(), str(last.id))
        return Page(items, next_cursor)

    def unread_count(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> int:
        # Served by the partial index on unread rows (schema/delivery.py): the badge on every page.
        query = (
            select(func.count())
            .select_from(_N)
            .where(_N.c.tenant_id == tenant_id, _N.c.user_id == user_id, _N.c.read_at.is_(None))
        )
        return int(self.conn.execute(query).scalar_one())

    def mark_read(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, at: datetime, notification_id: uuid.UUID
    ) -> None:
        self.conn.execute(
            update(_N)
            .where(
                _N.c.tenant_id == tenant_id,
                _N.c.user_id == user_id,
                _N.c.id == notification_id,
                _N.c.read_at.is_(None),
            )
            .values(read_at=at)
        )

    def mark_all_read(self, tenant_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> int:
        result = self.conn.execute(
            update(_N)
            .where(_N.c.tenant_id == tenant_id, _N.c.user_id == user_id, _N.c.read_at.is_(None))
            .values(read_at=at)
        )
        return int(result.rowcount)


def _preference(row: Mapping[Any, Any]) -> ChannelPreference:
    kind = row["chat_kind"]
    return ChannelPreference(
        Channel(row["channel"]),
        tuple(row["events"]),
        ChatKind(kind) if kind else None,
        row["target"],
    )


class NotificationPreferenceRepository:
    """Stored preferences only: a channel without a row has its default (domain)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def of_users(
        self, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[Channel, ChannelPreference]]:
        found: dict[uuid.UUID, dict[Channel, ChannelPreference]] = {u: {} for u in user_ids}
        if not user_ids:
            return found
        query = select(_P).where(_P.c.tenant_id == tenant_id, _P.c.user_id.in_(list(user_ids)))
        for row in self.conn.execute(query).mappings():
            preference = _preference(row)
            found[row["user_id"]][preference.channel] = preference
        return found

    def save(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        preferences: Sequence[ChannelPreference],
        at: datetime,
    ) -> None:
        """Replace the stored preference of each channel given; others stay as they are."""
        for preference in preferences:
            self.conn.execute(
                delete(_P).where(
                    _P.c.tenant_id == tenant_id,
                    _P.c.user_id == user_id,
                    _P.c.channel == preference.channel.value,
                )
            )
            self.conn.execute(
                insert(_P).values(
                    tenant_id=tenant_id,
                    user_id=user_id,
                    channel=preference.channel.value,
                    events=list(preference.events),
                    chat_kind=preference.chat_kind.value if preference.chat_kind else None,
                    target=preference.target,
                    updated_at=at,
                )
            )

    def sealed_targets(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        """Every stored chat webhook URL, sealed: (tenant, user, token), for resealing."""
        query = select(_P.c.tenant_id, _P.c.user_id, _P.c.target).where(
            _P.c.channel == Channel.CHAT.value, _P.c.target.is_not(None)
        )
        return [(row[0], row[1], row[2]) for row in self.conn.execute(query)]

    def set_target(self, tenant_id: uuid.UUID, user_id: uuid.UUID, sealed: str) -> None:
        self.conn.execute(
            update(_P)
            .where(
                _P.c.tenant_id == tenant_id,
                _P.c.user_id == user_id,
                _P.c.channel == Channel.CHAT.value,
            )
            .values(target=sealed)
        )
