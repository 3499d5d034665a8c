"""Repositories of alert rules and maintenance windows: the pipeline's tenant configuration."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.hot_sql import cached_statement
from fleetward.adapters.storage.repositories import TenantRows
from fleetward.domain.alerts import Severity
from fleetward.domain.maintenance import MaintenanceWindow, WeeklyRecurrence, parse_hhmm
from fleetward.domain.rules import AlertRule, RuleActions, RuleConditions, rule_json


def _uuids(values: Any) -> frozenset[uuid.UUID]:
    return frozenset(uuid.UUID(str(v)) for v in values or ())


def _opt_uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def rule_from_row(row: Mapping[Any, Any]) -> AlertRule:
    c = row["conditions"] or {}
    a = row["actions"] or {}
    return AlertRule(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        active=bool(row["active"]),
        position=row["position"],
        conditions=RuleConditions(
            severities=frozenset(Severity(s) for s in c.get("severities") or ()),
            activity_types=frozenset(c.get("activity_types") or ()),
            alert_classes=frozenset(c.get("alert_classes") or ()),
            source_types=frozenset(c.get("source_types") or ()),
            client_ids=_uuids(c.get("client_ids")),
            keywords=tuple(c.get("keywords") or ()),
            message_pattern=c.get("message_pattern"),
        ),
        actions=RuleActions(
            create_ticket=bool(a.get("create_ticket", True)),
            board_id=_opt_uuid(a.get("board_id")),
            priority_id=_opt_uuid(a.get("priority_id")),
            assignee_id=_opt_uuid(a.get("assignee_id")),
            title_template=a.get("title_template"),
            description_template=a.get("description_template"),
            auto_resolve_ticket=bool(a.get("auto_resolve_ticket", False)),
            auto_resolve_status_id=_opt_uuid(a.get("auto_resolve_status_id")),
            reset_alert_on_ticket_close=bool(a.get("reset_alert_on_ticket_close", True)),
            notify_user_ids=tuple(_uuids(a.get("notify_user_ids"))),
        ),
    )


def window_from_row(row: Mapping[Any, Any]) -> MaintenanceWindow:
    r = row["recurrence"]
    recurrence = None
    if r:
        recurrence = WeeklyRecurrence(
            days=frozenset(int(d) for d in r["days"]),
            start=parse_hhmm(r["start_time"], "recurrence.start_time"),
            end=parse_hhmm(r["end_time"], "recurrence.end_time"),
            timezone=r["timezone"],
        )
    return MaintenanceWindow(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        integration_id=row["integration_id"],
        client_id=row["client_id"],
        asset_id=row["asset_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        recurrence=recurrence,
    )


class RuleRepository(TenantRows[AlertRule]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.alert_rule, AlertRule, convert=rule_from_row)

    def _columns(self) -> list[Any]:
        return list(schema.alert_rule.c)

    def ordered(self, tenant_id: uuid.UUID) -> list[AlertRule]:
        t = schema.alert_rule
        return self.all_where(t.c.tenant_id == tenant_id, order_by=[t.c.position, t.c.created_at])

    def version(self, tenant_id: uuid.UUID) -> tuple[int, str]:
        """Changes whenever a rule is added, changed, reordered or removed."""
        t = schema.alert_rule
        statement = cached_statement(
            ("alert_rule.version",),
            lambda: select(func.count(), func.max(t.c.updated_at)).where(
                t.c.tenant_id == bindparam("tenant_id")
            ),
        )
        count, latest = self.conn.execute(statement, {"tenant_id": tenant_id}).one()
        return int(count), str(latest)

    def next_position(self, tenant_id: uuid.UUID) -> int:
        t = schema.alert_rule
        top = self.conn.execute(
            select(func.max(t.c.position)).where(t.c.tenant_id == tenant_id)
        ).scalar_one_or_none()
        return 0 if top is None else int(top) + 1

    def save(self, rule: AlertRule, at: datetime, created: bool) -> None:
        conditions, actions = rule_json(rule)
        values = {
            "name": rule.name,
            "active": rule.active,
            "position": rule.position,
            "conditions": conditions,
            "actions": actions,
        }
        self.save_values(rule.tenant_id, rule.id, values, at, created)


class WindowRepository(TenantRows[MaintenanceWindow]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(
            conn, schema.maintenance_window, MaintenanceWindow, convert=window_from_row
        )

    def _columns(self) -> list[Any]:
        return list(schema.maintenance_window.c)

    def save(self, window: MaintenanceWindow, at: datetime, created: bool) -> None:
        r = window.recurrence
        values: dict[str, Any] = {
            "name": window.name,
            "integration_id": window.integration_id,
            "client_id": window.client_id,
            "asset_id": window.asset_id,
            "starts_at": window.starts_at,
            "ends_at": window.ends_at,
            "recurrence": None if r is None else r.document(),
        }
        self.save_values(window.tenant_id, window.id, values, at, created)

    def all(self, tenant_id: uuid.UUID) -> list[MaintenanceWindow]:
        t = schema.maintenance_window
        statement = cached_statement(
            ("maintenance_window.all",),
            lambda: select(t).where(t.c.tenant_id == bindparam("tenant_id")),
        )
        rows = self.conn.execute(statement, {"tenant_id": tenant_id}).mappings().all()
        return [window_from_row(r) for r in rows]
