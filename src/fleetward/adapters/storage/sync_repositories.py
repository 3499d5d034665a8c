"""Sync runs (reconciliation) and what a run reads of an integration's alerts.

One run per integration at a time, on every node: the partial unique index
`uq_sync_run_running` admits one `running` row per integration, and `start`
inserts with ON CONFLICT DO NOTHING on it, so a second start (here or on
another node, even concurrently: the second insert waits for the first's
commit) writes nothing. A run whose lease has passed (its process died) is
marked failed in the same transaction first, and so taken over.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.repositories import TenantRows, _to, time_id_cursor, values_of
from fleetward.domain.alerts import AlertStatus, Provider
from fleetward.domain.integrations import Integration
from fleetward.domain.pagination import Page, encode_cursor
from fleetward.domain.sync import LocalAlert, SyncRun, SyncStatus, SyncTrigger

_S = schema.sync_run
_RUNNING = SyncStatus.RUNNING.value
# Alerts a sync compares with the provider's: open ones, and suppressed ones
# (a window's end may call for their ticket).
_HELD = [AlertStatus.ACTIVE.value, AlertStatus.ACKNOWLEDGED.value, AlertStatus.SUPPRESSED.value]
TAKEN_OVER = "the run stopped before it finished (its process ended) and was taken over"


def _run(row: Mapping[Any, Any]) -> SyncRun:
    return _to(
        SyncRun,
        {**row, "status": SyncStatus(row["status"]), "trigger": SyncTrigger(row["trigger"])},
    )


class SyncRunRepository(TenantRows[SyncRun]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, _S, SyncRun, unique_fields=(), convert=_run)

    def start(self, run: SyncRun, now: datetime) -> SyncRun | None:
        """Insert `run` (status running) unless another run of its integration is
        running; a running one whose lease passed is marked failed first. None when
        refused."""
        self.conn.execute(
            update(_S)
            .where(
                _S.c.integration_id == run.integration_id,
                _S.c.status == _RUNNING,
                _S.c.lease_until < now,
            )
            .values(status=SyncStatus.FAILED.value, finished_at=now, error=TAKEN_OVER)
        )
        build = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        values = values_of(run)
        values["status"] = _RUNNING
        values["trigger"] = run.trigger.value
        statement = (
            build(_S)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[_S.c.integration_id], index_where=text("status = 'running'")
            )
            .returning(_S.c.id)
        )
        inserted = self.conn.execute(statement).scalar_one_or_none()
        return run if inserted is not None else None

    def running(self, integration_id: uuid.UUID) -> SyncRun | None:
        return self.one_where(_S.c.integration_id == integration_id, _S.c.status == _RUNNING)

    def extend(self, run_id: uuid.UUID, lease_until: datetime) -> None:
        self.conn.execute(
            update(_S)
            .where(_S.c.id == run_id, _S.c.status == _RUNNING)
            .values(lease_until=lease_until)
        )

    def finish(
        self,
        run_id: uuid.UUID,
        status: SyncStatus,
        now: datetime,
        counts: Mapping[str, int],
        error: str | None,
    ) -> bool:
        """Record the run's end; False when it was taken over meanwhile (not running)."""
        result = self.conn.execute(
            update(_S)
            .where(_S.c.id == run_id, _S.c.status == _RUNNING)
            .values(
                status=status.value,
                finished_at=now,
                error=None if error is None else error[:2000],
                **counts,
            )
        )
        return bool(result.rowcount)

    def page(
        self, tenant_id: uuid.UUID, limit: int, cursor: str | None, **where: Any
    ) -> Page[SyncRun]:
        """Newest first, keyset on (started_at, id)."""
        query = select(*self._columns()).where(_S.c.tenant_id == tenant_id)
        for key, value in where.items():
            query = query.where(_S.c[key] == value)
        if cursor:
            before_at, before_id = time_id_cursor(cursor)
            query = query.where(
                or_(
                    _S.c.started_at < before_at,
                    and_(_S.c.started_at == before_at, _S.c.id < before_id),
                )
            )
        order = (_S.c.started_at.desc(), _S.c.id.desc())
        rows = self.conn.execute(query.order_by(*order).limit(limit + 1)).mappings().all()
        items = [_run(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last["started_at"].isoformat(), str(last["id"]))
        return Page(items, next_cursor)

    def last_started(self) -> dict[uuid.UUID, datetime]:
        """When each integration's latest run started (all tenants: the scheduler's view)."""
        query = select(_S.c.integration_id, func.max(_S.c.started_at)).group_by(_S.c.integration_id)
        return {row[0]: _as_utc(row[1]) for row in self.conn.execute(query)}

    def pollable(self) -> list[Integration]:
        """Every tenant's enabled integrations of a provider with an API: the scheduler
        decides which are due (their settings live in a JSON document)."""
        t = schema.integration
        query = select(
            t.c.id,
            t.c.tenant_id,
            t.c.provider,
            t.c.name,
            t.c.enabled,
            t.c.settings,
            t.c.created_at,
            t.c.updated_at,
        ).where(
            t.c.enabled.is_(True),
            t.c.provider.in_([Provider.NINJAONE.value, Provider.TACTICALRMM.value]),
        )
        return [
            _to(Integration, {**row, "provider": Provider(row["provider"])})
            for row in self.conn.execute(query).mappings()
        ]

    def held_alerts(self, integration_id: uuid.UUID) -> list[LocalAlert]:
        """The integration's open and suppressed alerts, for one comparison with the
        provider's list (a few columns: a sync reads thousands)."""
        a = schema.alert
        query = select(
            a.c.id,
            a.c.series_key,
            a.c.status,
            a.c.created_at,
            a.c.external_alert_id,
            a.c.device_external_id,
            a.c.condition_identity,
            a.c.occurred_at,
        ).where(a.c.integration_id == integration_id, a.c.status.in_(_HELD))
        return [
            LocalAlert(
                row[0],
                row[1],
                AlertStatus(row[2]),
                _as_utc(row[3]),
                row[4],
                row[5],
                row[6],
                _as_utc(row[7]),
            )
            for row in self.conn.execute(query)
        ]


def _as_utc(value: datetime) -> datetime:
    # Column types convert for select(table.c...), but not always through an aggregate.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
