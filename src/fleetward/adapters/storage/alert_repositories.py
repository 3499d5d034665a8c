"""Repositories of the alert pipeline: integrations, alerts, rules, windows, tickets."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, false, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from fleetward.adapters.storage import hot_sql, schema
from fleetward.adapters.storage.hot_sql import cached_statement
from fleetward.adapters.storage.repositories import (
    RepositorySet,
    TenantRows,
    _to,
    repository,
    seq_cursor,
    time_id_cursor,
    values_of,
)
from fleetward.domain.alerts import (
    OPEN_STATUSES,
    Alert,
    AlertFilter,
    AlertStatus,
    Provider,
    Severity,
)
from fleetward.domain.errors import Conflict
from fleetward.domain.ids import new_id
from fleetward.domain.integrations import Asset, DeadLetter, Integration, OrgMapping
from fleetward.domain.maintenance import MaintenanceWindow, WeeklyRecurrence, parse_hhmm
from fleetward.domain.pagination import encode_cursor
from fleetward.domain.rules import AlertRule, RuleActions, RuleConditions
from fleetward.domain.tickets import (
    Board,
    Comment,
    Priority,
    StatusKind,
    Ticket,
    TicketStatus,
    TimeEntry,
)


def _integration(row: Mapping[Any, Any]) -> Integration:
    return _to(Integration, {**row, "provider": Provider(row["provider"])})


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


def _status(row: Mapping[Any, Any]) -> TicketStatus:
    return _to(TicketStatus, {**row, "kind": StatusKind(row["kind"])})


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


def rule_documents(rule: AlertRule) -> tuple[dict[str, Any], dict[str, Any]]:
    """Conditions and actions as the JSON stored (and shown by the API)."""
    c, a = rule.conditions, rule.actions
    conditions: dict[str, Any] = {
        "severities": sorted(s.value for s in c.severities),
        "activity_types": sorted(c.activity_types),
        "alert_classes": sorted(c.alert_classes),
        "source_types": sorted(c.source_types),
        "client_ids": sorted(str(i) for i in c.client_ids),
        "keywords": list(c.keywords),
        "message_pattern": c.message_pattern,
    }
    actions: dict[str, Any] = {
        key: (str(value) if isinstance(value, uuid.UUID) else value)
        for key, value in dataclasses.asdict(a).items()
    }
    actions["notify_user_ids"] = [str(i) for i in a.notify_user_ids]
    return conditions, actions


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


class IntegrationRepository(TenantRows[Integration]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.integration, Integration, convert=_integration)

    def add(self, integration: Integration, webhook_secret: str) -> Integration:
        values = {
            **dataclasses.asdict(integration),
            "provider": integration.provider.value,
            "webhook_secret": webhook_secret,
        }
        try:
            self.conn.execute(insert(schema.integration).values(**values))
        except IntegrityError:
            raise Conflict("another integration has this name", field="name") from None
        return integration

    def for_webhook(self, integration_id: uuid.UUID) -> tuple[Integration, str] | None:
        """Unscoped by design: the URL names the integration, its secret proves the caller."""
        t = schema.integration
        statement = cached_statement(
            ("integration.for_webhook",), lambda: select(t).where(t.c.id == bindparam("id"))
        )
        row = self.conn.execute(statement, {"id": integration_id}).mappings().first()
        return None if row is None else (_integration(row), row["webhook_secret"])

    def sealed_secrets(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        """Every integration's sealed secret, across tenants: for re-sealing under a new key."""
        t = schema.integration
        rows = self.conn.execute(select(t.c.tenant_id, t.c.id, t.c.webhook_secret))
        return [(row.tenant_id, row.id, row.webhook_secret) for row in rows]

    def set_secret(self, tenant_id: uuid.UUID, integration_id: uuid.UUID, secret: str) -> None:
        t = schema.integration
        self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.id == integration_id)
            .values(webhook_secret=secret)
        )


class OrgMappingRepository(TenantRows[OrgMapping]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.org_mapping, OrgMapping, unique_fields=("external_org_id",))

    def client_for(
        self, integration_id: uuid.UUID, external_org_id: str | None
    ) -> uuid.UUID | None:
        if external_org_id is None:
            return None
        t = schema.org_mapping
        statement = cached_statement(
            ("org_mapping.client_for",),
            lambda: select(t.c.client_id).where(
                t.c.integration_id == bindparam("integration_id"),
                t.c.external_org_id == bindparam("external_org_id"),
            ),
        )
        params = {"integration_id": integration_id, "external_org_id": external_org_id}
        return self.conn.execute(statement, params).scalar_one_or_none()


class AssetRepository(TenantRows[Asset]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.asset, Asset, unique_fields=("external_device_id",))

    def by_device(self, integration_id: uuid.UUID, external_device_id: str) -> Asset | None:
        t = schema.asset

        def build() -> Any:
            return select(*self._columns()).where(
                t.c.integration_id == bindparam("integration_id"),
                t.c.external_device_id == bindparam("external_device_id"),
            )

        params = {"integration_id": integration_id, "external_device_id": external_device_id}
        rows = hot_sql.fetch_all(self.conn, ("asset.by_device",), build, params)
        return _to(Asset, rows[0]) if rows else None


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
        rows = (
            self.conn.execute(
                select(*self._columns())
                .where(
                    t.c.integration_id == integration_id,
                    t.c.series_key == series_key,
                    t.c.status.in_(statuses),
                )
                .order_by(t.c.created_at)
            )
            .mappings()
            .all()
        )
        return [_alert(r) for r in rows]

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
        self, tenant_id: uuid.UUID, where: AlertFilter, limit: int, cursor: str | None
    ) -> tuple[list[Alert], str | None]:
        return search_alerts(self.conn, tenant_id, where, limit, cursor)

    def on_ticket(self, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> list[Alert]:
        t = schema.alert
        rows = (
            self.conn.execute(
                select(*self._columns())
                .where(t.c.tenant_id == tenant_id, t.c.ticket_id == ticket_id)
                .order_by(t.c.created_at)
            )
            .mappings()
            .all()
        )
        return [_alert(r) for r in rows]


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


class RuleRepository(TenantRows[AlertRule]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.alert_rule, AlertRule, convert=rule_from_row)

    def _columns(self) -> list[Any]:
        return list(schema.alert_rule.c)

    def ordered(self, tenant_id: uuid.UUID) -> list[AlertRule]:
        t = schema.alert_rule
        rows = (
            self.conn.execute(
                select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.position, t.c.created_at)
            )
            .mappings()
            .all()
        )
        return [rule_from_row(r) for r in rows]

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
        conditions, actions = rule_documents(rule)
        values = {
            "name": rule.name,
            "active": rule.active,
            "position": rule.position,
            "conditions": conditions,
            "actions": actions,
            "updated_at": at,
        }
        t = schema.alert_rule
        if created:
            self.conn.execute(
                insert(t).values(id=rule.id, tenant_id=rule.tenant_id, created_at=at, **values)
            )
        else:
            self.conn.execute(
                update(t).where(t.c.tenant_id == rule.tenant_id, t.c.id == rule.id).values(**values)
            )


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
            "recurrence": None
            if r is None
            else {
                "type": "weekly",
                "days": sorted(r.days),
                "start_time": r.start.strftime("%H:%M"),
                "end_time": r.end.strftime("%H:%M"),
                "timezone": r.timezone,
            },
            "updated_at": at,
        }
        t = schema.maintenance_window
        if created:
            self.conn.execute(
                insert(t).values(id=window.id, tenant_id=window.tenant_id, created_at=at, **values)
            )
        else:
            self.conn.execute(
                update(t)
                .where(t.c.tenant_id == window.tenant_id, t.c.id == window.id)
                .values(**values)
            )

    def all(self, tenant_id: uuid.UUID) -> list[MaintenanceWindow]:
        t = schema.maintenance_window
        statement = cached_statement(
            ("maintenance_window.all",),
            lambda: select(t).where(t.c.tenant_id == bindparam("tenant_id")),
        )
        rows = self.conn.execute(statement, {"tenant_id": tenant_id}).mappings().all()
        return [window_from_row(r) for r in rows]


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

        params = {"tenant_id": tenant_id, "key": key}
        rows = hot_sql.fetch_all(self.conn, ("ticket.open_by_key",), build, params)
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
        self, tenant_id: uuid.UUID, limit: int, cursor: str | None, **where: Any
    ) -> tuple[list[Ticket], str | None]:
        """Newest first, keyset on the ticket number (per tenant, rising with creation)."""
        t = schema.ticket
        query = select(*self._columns()).where(t.c.tenant_id == tenant_id)
        for key, value in where.items():
            query = query.where(t.c[key] == value)
        if cursor:
            query = query.where(t.c.number < seq_cursor(cursor))
        rows = (
            self.conn.execute(query.order_by(t.c.number.desc()).limit(limit + 1)).mappings().all()
        )
        next_cursor = encode_cursor(rows[limit - 1]["number"]) if len(rows) > limit else None
        return [_to(Ticket, r) for r in rows[:limit]], next_cursor

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
        rows = (
            self.conn.execute(
                select(*self._columns())
                .where(t.c.tenant_id == tenant_id, t.c.board_id == board_id)
                .order_by(t.c.position)
            )
            .mappings()
            .all()
        )
        return [_status(r) for r in rows]

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


class EventOutbox:
    """Domain events for webhook subscriptions and the bus, written with the change."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, tenant_id: uuid.UUID, type_: str, payload: dict[str, Any], at: datetime) -> None:
        params = {"tenant_id": tenant_id, "type": type_, "payload": payload, "created_at": at}
        hot_sql.execute(
            self.conn, ("insert", "domain_event"), lambda: insert(schema.domain_event), params
        )


class NotificationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        kind: str,
        title: str,
        ref_type: str,
        ref_id: uuid.UUID,
        at: datetime,
    ) -> None:
        self.conn.execute(
            insert(schema.notification).values(
                id=new_id(),
                tenant_id=tenant_id,
                user_id=user_id,
                kind=kind,
                title=title[:500],
                ref_type=ref_type,
                ref_id=ref_id,
                created_at=at,
            )
        )


class PipelineRepositories(RepositorySet):
    """The pipeline's repositories over one transaction."""

    integrations = repository(IntegrationRepository)
    org_mappings = repository(OrgMappingRepository)
    assets = repository(AssetRepository)
    dead_letters = repository(lambda conn: TenantRows(conn, schema.dead_letter, DeadLetter))
    alerts = repository(AlertRepository)
    receipts = repository(ReceiptRepository)
    rules = repository(RuleRepository)
    windows = repository(WindowRepository)
    tickets = repository(TicketRepository)
    boards = repository(BoardRepository)
    statuses = repository(StatusRepository)
    priorities = repository(PriorityRepository)
    comments = repository(lambda conn: TenantRows(conn, schema.ticket_comment, Comment))
    time_entries = repository(lambda conn: TenantRows(conn, schema.time_entry, TimeEntry))
    events = repository(EventOutbox)
    notifications = repository(NotificationRepository)


def search_alerts(
    conn: Connection, tenant_id: uuid.UUID, where: AlertFilter, limit: int, cursor: str | None
) -> tuple[list[Alert], str | None]:
    """Newest first by arrival, keyset on (created_at, id)."""
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
    if where.device:
        query = query.where(
            or_(t.c.device_external_id == where.device, t.c.device_name == where.device)
        )
    if where.since:
        query = query.where(t.c.occurred_at >= where.since)
    if where.until:
        query = query.where(t.c.occurred_at < where.until)
    if cursor:
        before_at, before_id = time_id_cursor(cursor)
        query = query.where(
            or_(t.c.created_at < before_at, and_(t.c.created_at == before_at, t.c.id < before_id))
        )
    rows = (
        conn.execute(query.order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit + 1))
        .mappings()
        .all()
    )
    items = [_alert(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last["created_at"].isoformat(), str(last["id"]))
    return items, next_cursor
