"""Repositories of alerts and the receipts of resets and acknowledgements."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)

from fleetward.adapters.storage import hot_sql, schema
from fleetward.adapters.storage.hot_sql import cached_statement
from fleetward.adapters.storage.listing import sorted_page
from fleetward.adapters.storage.repositories import TenantRows, _to, values_of
from fleetward.domain.alerts import (
    ALERT_DEFAULT_SORT,
    OPEN_STATUSES,
    SEVERITY_RANK,
    Alert,
    AlertFilter,
    AlertStatus,
    Provider,
    Severity,
)
from fleetward.domain.ids import new_id
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page


def _alert(row: Mapping[Any, Any]) -> Alert:
    return _to(
        Alert,
        {
            **row,
            "provider": Provider(row["provider"]),
            "status": AlertStatus(row["status"]),
            "severity": Severity(row["severity"]),
        },
    )


class AlertRepository(TenantRows[Alert]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(
            conn, schema.alert, Alert, unique_fields=("external_alert_id",), convert=_alert
        )

    def add(self, alert: Alert, raw: dict[str, Any]) -> None:
        values = values_of(alert)
        for key in ("provider", "status", "severity"):
            values[key] = values[key].value
        values["raw"] = raw
        hot_sql.execute(self.conn, ("insert", "alert"), lambda: insert(schema.alert), values)

    def find(self, integration_id: uuid.UUID, external_alert_id: str) -> uuid.UUID | None:
        t = schema.alert

        def build() -> Any:
            return select(t.c.id).where(
                t.c.integration_id == bindparam("integration_id"),
                t.c.external_alert_id == bindparam("external_alert_id"),
            )

        params = {"integration_id": integration_id, "external_alert_id": external_alert_id}
        found: uuid.UUID | None = hot_sql.fetch_scalar(self.conn, ("alert.find",), build, params)
        return found

    def open_in_series(self, integration_id: uuid.UUID, series_key: str) -> list[Alert]:
        """Alerts a reset or acknowledgement of this series applies to (suppressed included)."""
        t = schema.alert
        statuses = [s.value for s in (*OPEN_STATUSES, AlertStatus.SUPPRESSED)]
        return self.all_where(
            t.c.integration_id == integration_id,
            t.c.series_key == series_key,
            t.c.status.in_(statuses),
            order_by=[t.c.created_at],
        )

    def set_status(
        self, alert_id: uuid.UUID, status: AlertStatus, at: datetime, resolved: bool = False
    ) -> None:
        t = schema.alert
        values: dict[str, Any] = {"status": status.value, "updated_at": at}
        if resolved:
            values["resolved_at"] = at
        self.conn.execute(update(t).where(t.c.id == alert_id).values(**values))

    def count_open_on_ticket(self, ticket_id: uuid.UUID, excluding: Sequence[uuid.UUID]) -> int:
        t = schema.alert
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(t)
                .where(
                    t.c.ticket_id == ticket_id,
                    t.c.status.in_([s.value for s in OPEN_STATUSES]),
                    t.c.id.notin_(list(excluding)),
                )
            ).scalar_one()
        )

    def search(
        self,
        tenant_id: uuid.UUID,
        where: AlertFilter,
        limit: int,
        cursor: str | None,
        sort: Sort = ALERT_DEFAULT_SORT,
        count: bool = False,
    ) -> Page[Alert]:
        return search_alerts(self.conn, tenant_id, where, limit, cursor, sort, count)

    def on_ticket(self, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> list[Alert]:
        t = schema.alert
        return self.all_where(
            t.c.tenant_id == tenant_id, t.c.ticket_id == ticket_id, order_by=[t.c.created_at]
        )


class ReceiptRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def seen(self, integration_id: uuid.UUID, kind: str, external_id: str) -> bool:
        t = schema.alert_receipt
        statement = cached_statement(
            ("alert_receipt.seen",),
            lambda: select(t.c.id).where(
                t.c.integration_id == bindparam("integration_id"),
                t.c.kind == bindparam("kind"),
                t.c.external_id == bindparam("external_id"),
            ),
        )
        params = {"integration_id": integration_id, "kind": kind, "external_id": external_id}
        return self.conn.execute(statement, params).first() is not None

    def add(
        self,
        tenant_id: uuid.UUID,
        integration_id: uuid.UUID,
        kind: str,
        external_id: str,
        at: datetime,
    ) -> None:
        self.conn.execute(
            insert(schema.alert_receipt).values(
                id=new_id(),
                tenant_id=tenant_id,
                integration_id=integration_id,
                kind=kind,
                external_id=external_id,
                created_at=at,
            )
        )


@functools.cache
def _alert_sorts() -> Mapping[str, ColumnElement[Any]]:
    """The expressions alerts sort by, built once (building them cost more than the
    page's own query)."""
    t = schema.alert
    rank = case(*((t.c.severity == s.value, r) for s, r in SEVERITY_RANK.items()), else_=-1)
    return {
        "created_at": t.c.created_at,
        "occurred_at": t.c.occurred_at,
        "severity": rank,
        "status": t.c.status,
        "title": func.lower(t.c.title),
        "device": func.lower(t.c.device_name),
    }


def search_alerts(
    conn: Connection,
    tenant_id: uuid.UUID,
    where: AlertFilter,
    limit: int,
    cursor: str | None,
    sort: Sort = ALERT_DEFAULT_SORT,
    count: bool = False,
) -> Page[Alert]:
    """In `sort` order (newest arrival first by default), keyset on (sort value, id)."""
    t = schema.alert
    columns = [t.c[f.name] for f in dataclasses.fields(Alert)]
    query = select(*columns).where(t.c.tenant_id == tenant_id)
    if where.statuses:
        query = query.where(t.c.status.in_(where.statuses))
    if where.severities:
        query = query.where(t.c.severity.in_(where.severities))
    if where.client_id:
        query = query.where(t.c.client_id == where.client_id)
    if where.integration_id:
        query = query.where(t.c.integration_id == where.integration_id)
    if where.ticket_id:
        query = query.where(t.c.ticket_id == where.ticket_id)
    if where.asset_id:
        query = query.where(t.c.asset_id == where.asset_id)
    if where.unmapped:
        query = query.where(t.c.client_id.is_(None))
    if where.external_org_id is not None:
        query = query.where(t.c.external_org_id == where.external_org_id)
    if where.device:
        query = query.where(
            or_(t.c.device_external_id == where.device, t.c.device_name == where.device)
        )
    if where.since:
        query = query.where(t.c.occurred_at >= where.since)
    if where.until:
        query = query.where(t.c.occurred_at < where.until)
    rows, next_cursor, total = sorted_page(
        conn, query, _alert_sorts(), t.c.id, sort, limit, cursor, count=count
    )
    return Page([_alert(r) for r in rows], next_cursor, total)
