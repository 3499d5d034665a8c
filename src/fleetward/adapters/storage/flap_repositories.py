"""Flap state: per dedup key, its latest trigger times and whether it is flapping.

Written on every trigger that opens or re-triggers a ticket, with one upsert
(INSERT ... ON CONFLICT DO UPDATE on both engines), so a key's first two
triggers in two transactions can never make two rows or fail on each other.
Read and written on every such trigger, so both go through hot_sql.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from fleetward.adapters.storage import hot_sql, schema
from fleetward.domain.flapping import FlapState

_F = schema.flap_state


def _state(row: Any) -> FlapState:
    recent = tuple(datetime.fromisoformat(t) for t in row["recent"])
    return FlapState(recent, row["flapping_since"], row["last_trigger_at"])


class FlapStateRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, tenant_id: uuid.UUID, key: str) -> FlapState | None:
        rows = hot_sql.fetch_all(
            self.conn,
            ("flap_state.get",),
            lambda: select(_F.c.recent, _F.c.flapping_since, _F.c.last_trigger_at).where(
                _F.c.tenant_id == bindparam("tenant_id"), _F.c.dedup_key == bindparam("key")
            ),
            {"tenant_id": tenant_id, "key": key},
        )
        return _state(rows[0]) if rows else None

    def of_keys(self, tenant_id: uuid.UUID, keys: Sequence[str]) -> dict[str, FlapState]:
        """The states of several keys at once (a page of tickets)."""
        if not keys:
            return {}
        rows = (
            self.conn.execute(
                select(
                    _F.c.dedup_key, _F.c.recent, _F.c.flapping_since, _F.c.last_trigger_at
                ).where(_F.c.tenant_id == tenant_id, _F.c.dedup_key.in_(sorted(set(keys))))
            )
            .mappings()
            .all()
        )
        return {row["dedup_key"]: _state(row) for row in rows}

    def save(self, tenant_id: uuid.UUID, key: str, state: FlapState) -> None:
        dialect = self.conn.dialect.name
        hot_sql.execute(
            self.conn,
            ("flap_state.save", dialect),
            lambda: _upsert(dialect),
            {
                "tenant_id": tenant_id,
                "dedup_key": key,
                "recent": [t.isoformat() for t in state.recent],
                "flapping_since": state.flapping_since,
                "last_trigger_at": state.last_trigger_at,
            },
        )


def _upsert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (tenant_id, dedup_key) DO UPDATE, built once per dialect."""
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = build(_F).values(
        {name: bindparam(name, type_=_F.c[name].type) for name in _COLUMNS}
    )
    changed = {name: statement.excluded[name] for name in _COLUMNS[2:]}
    return statement.on_conflict_do_update(
        index_elements=[_F.c.tenant_id, _F.c.dedup_key], set_=changed
    )


_COLUMNS = ("tenant_id", "dedup_key", "recent", "flapping_since", "last_trigger_at")
