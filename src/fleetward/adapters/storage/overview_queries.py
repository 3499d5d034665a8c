"""The OverviewQueries port: the overview's figures, counted by the database.

Every figure is one aggregate statement (COUNT, SUM over CASE, GROUP BY, a
median by window functions), scoped to the tenant, in one read snapshot (the
response times in one of their own, which the service keeps a while): the
work grows with the rows the database scans, never with Python loops over
them, and what comes back is a few dozen numbers. Windows of time (30 days of
alerts and tickets, 7 days of arrivals) run on the (tenant_id, created_at) and
(tenant_id, occurred_at) indexes. The statements run unchanged on SQLite and
PostgreSQL; the one thing the engines spell differently, seconds between two
times, is `seconds_between` below.

What each figure means is written in domain/overview.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.domain.agents import ONLINE_WITHIN
from fleetward.domain.alerts import OPEN_STATUSES, AlertStatus
from fleetward.domain.jobs import JobStatus
from fleetward.domain.overview import (
    AGE_BUCKETS,
    CHART_DAYS,
    OUTBOUND_WINDOW,
    RESPONSE_WINDOWS,
    SILENT_AFTER,
    AlertGroup,
    IntegrationHealth,
    Median,
    OverviewFigures,
    ResponseTimes,
    day_starts,
)


class seconds_between(FunctionElement[float]):
    """Seconds from the second time to the first, as a float, on either engine."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _count_when(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    # SUM(CASE ...) rather than COUNT(*) FILTER: older SQLite lacks FILTER.
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class SqlOverviewQueries:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    def figures(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        now: datetime,
        zone: tzinfo,
        provider_call_kinds: Sequence[str],
    ) -> OverviewFigures:
        with self.uow.read() as repos:
            conn = repos.conn
            ages, mine = _open_tickets(conn, tenant_id, user_id, now)
            offline, active = _agents(conn, tenant_id, now)
            bounds = day_starts(now, zone, CHART_DAYS)
            return OverviewFigures(
                now=now,
                open_alerts=_open_alerts(conn, tenant_id),
                open_tickets_by_age=ages,
                my_open_tickets=mine,
                agents_offline=offline,
                agents_active=active,
                integrations=_integrations(conn, tenant_id, now, provider_call_kinds),
                alerts_per_day=_per_day(conn, tenant_id, schema.alert.c.occurred_at, bounds, zone),
                tickets_per_day=_per_day(conn, tenant_id, schema.ticket.c.created_at, bounds, zone),
            )

    def response_times(self, tenant_id: uuid.UUID, now: datetime) -> list[ResponseTimes]:
        with self.uow.read() as repos:
            return [_response_times(repos.conn, tenant_id, now, days) for days in RESPONSE_WINDOWS]

    def integrations(
        self, tenant_id: uuid.UUID, now: datetime, provider_call_kinds: Sequence[str]
    ) -> list[IntegrationHealth]:
        with self.uow.read() as repos:
            return _integrations(repos.conn, tenant_id, now, provider_call_kinds)


def _open_alerts(conn: Connection, tenant_id: uuid.UUID) -> list[AlertGroup]:
    a = schema.alert
    rows = conn.execute(
        select(a.c.status, a.c.severity, a.c.client_id, func.count())
        .where(a.c.tenant_id == tenant_id, a.c.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(a.c.status, a.c.severity, a.c.client_id)
    ).all()
    return [
        AlertGroup(status, severity, client_id, int(n)) for status, severity, client_id, n in rows
    ]


def _open_tickets(
    conn: Connection, tenant_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> tuple[dict[str, int], int]:
    t = schema.ticket
    columns = []
    for bucket in AGE_BUCKETS:
        after, until = bucket.opened_between(now)
        opened = t.c.created_at <= until
        if after is not None:
            opened = and_(opened, t.c.created_at > after)
        columns.append(_count_when(opened))
    columns.append(_count_when(t.c.assignee_id == user_id))
    row = conn.execute(
        select(*columns).where(t.c.tenant_id == tenant_id, t.c.is_closed.is_(False))
    ).one()
    ages = {bucket.key: int(n) for bucket, n in zip(AGE_BUCKETS, row, strict=False)}
    return ages, int(row[-1])


def _agents(conn: Connection, tenant_id: uuid.UUID, now: datetime) -> tuple[int, int]:
    g = schema.agent
    unseen = or_(g.c.last_seen_at.is_(None), g.c.last_seen_at < now - ONLINE_WITHIN)
    offline, active = conn.execute(
        select(_count_when(unseen), func.count()).where(
            g.c.tenant_id == tenant_id, g.c.revoked_at.is_(None)
        )
    ).one()
    return int(offline), int(active)


def _integrations(
    conn: Connection, tenant_id: uuid.UUID, now: datetime, provider_call_kinds: Sequence[str]
) -> list[IntegrationHealth]:
    i, run, a, dead = schema.integration, schema.sync_run, schema.alert, schema.dead_letter
    receipt = schema.alert_receipt
    last_run = (
        select(run.c.status)
        .where(
            run.c.tenant_id == tenant_id,
            run.c.integration_id == i.c.id,
            run.c.status != "running",
        )
        .order_by(run.c.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    since = now - SILENT_AFTER
    # What a webhook leaves behind, as the integrations list's "last webhook" reads it
    # (IntegrationRepository.last_received): an alert, a receipt or a dead letter.
    received = or_(
        exists().where(
            a.c.tenant_id == tenant_id, a.c.created_at >= since, a.c.integration_id == i.c.id
        ),
        exists().where(receipt.c.integration_id == i.c.id, receipt.c.created_at >= since),
        exists().where(
            dead.c.tenant_id == tenant_id,
            dead.c.integration_id == i.c.id,
            dead.c.created_at >= since,
        ),
    )
    rows = conn.execute(
        select(
            i.c.id,
            i.c.name,
            i.c.provider,
            i.c.enabled,
            i.c.created_at,
            func.coalesce(last_run, literal("")),
            case((received, 1), else_=0),
        )
        .where(i.c.tenant_id == tenant_id)
        .order_by(func.lower(i.c.name), i.c.id)
    ).all()
    failures = _outbound_failures(conn, tenant_id, now, provider_call_kinds)
    return [
        IntegrationHealth(
            id=row[0],
            name=row[1],
            provider=row[2],
            enabled=bool(row[3]),
            created_at=row[4],
            last_sync_failed=row[5] == "failed",
            outbound_failures=failures.get(row[0], 0),
            received_recently=bool(row[6]),
        )
        for row in rows
    ]


def _outbound_failures(
    conn: Connection, tenant_id: uuid.UUID, now: datetime, kinds: Sequence[str]
) -> dict[uuid.UUID, int]:
    """Per integration: its alerts' provider calls given up lately or retrying after an error."""
    j, a = schema.job, schema.alert
    gave_up = and_(j.c.status == JobStatus.FAILED.value, j.c.finished_at >= now - OUTBOUND_WINDOW)
    retrying = and_(
        j.c.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value]),
        j.c.last_error.is_not(None),
    )
    rows = conn.execute(
        select(a.c.integration_id, func.count())
        .select_from(j.join(a, a.c.id == j.c.ref_id))
        .where(
            j.c.tenant_id == tenant_id,
            j.c.ref_type == "alert",
            j.c.kind.in_(list(kinds)),
            a.c.tenant_id == tenant_id,
            or_(gave_up, retrying),
        )
        .group_by(a.c.integration_id)
    ).all()
    return {integration_id: int(n) for integration_id, n in rows}


def _median(
    conn: Connection, duration: ColumnElement[float], *where: ColumnElement[bool]
) -> Median:
    """The median of `duration` over the rows `where` admits, in one statement.

    Window functions number the sorted durations; the middle one (odd count) or
    the mean of the middle two (even count) are those whose 2 * rank lies
    between n and n + 2.
    """
    ranked = select(
        duration.label("d"),
        func.row_number().over(order_by=duration).label("rn"),
        func.count().over().label("n"),
    )
    inner = ranked.where(*where).subquery()
    middle = (2 * inner.c.rn).between(inner.c.n, inner.c.n + 2)
    seconds, count = conn.execute(
        select(func.avg(case((middle, inner.c.d))), func.max(inner.c.n))
    ).one()
    return Median(None if seconds is None else float(seconds), int(count or 0))


def _response_times(
    conn: Connection, tenant_id: uuid.UUID, now: datetime, days: int
) -> ResponseTimes:
    a, t = schema.alert, schema.ticket
    since = now - timedelta(days=days)
    recent = (a.c.tenant_id == tenant_id, a.c.created_at >= since)
    resolved = [AlertStatus.RESOLVED.value, AlertStatus.AUTO_RESOLVED.value]
    return ResponseTimes(
        days=days,
        alert_acknowledge=_median(
            conn,
            seconds_between(a.c.acknowledged_at, a.c.created_at),
            *recent,
            a.c.acknowledged_at.is_not(None),
        ),
        alert_resolve=_median(
            conn,
            seconds_between(a.c.resolved_at, a.c.created_at),
            *recent,
            a.c.status.in_(resolved),
            a.c.resolved_at > a.c.created_at,
        ),
        ticket_resolve=_median(
            conn,
            seconds_between(t.c.closed_at, t.c.created_at),
            t.c.tenant_id == tenant_id,
            t.c.created_at >= since,
            t.c.is_closed.is_(True),
            t.c.closed_at.is_not(None),
        ),
    )


def _per_day(
    conn: Connection, tenant_id: uuid.UUID, at: Any, bounds: list[datetime], zone: tzinfo
) -> list[tuple[date, int]]:
    """Rows per day of the reader's calendar: `bounds` are the days' starts in UTC
    (and the end of the last), so a CASE numbers each row's day and GROUP BY counts.
    The CASE is named in a subquery: PostgreSQL would not see two copies of it, with
    their own parameters, as the same expression in SELECT and GROUP BY."""
    table = at.table
    day = case(
        *((at < bound, index) for index, bound in enumerate(bounds[1:])),
        else_=len(bounds) - 1,
    ).label("day")
    days = (
        select(day)
        .where(table.c.tenant_id == tenant_id, at >= bounds[0], at < bounds[-1])
        .subquery()
    )
    rows = conn.execute(select(days.c.day, func.count()).group_by(days.c.day)).all()
    counts = {int(index): int(n) for index, n in rows}
    return [(bounds[i].astimezone(zone).date(), counts.get(i, 0)) for i in range(len(bounds) - 1)]
