"""The overview's aggregate queries on both engines: what each figure counts, per
tenant, with times set on the stored rows so buckets, windows and medians are exact."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Table, update

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.overview_queries import SqlOverviewQueries
from fleetward.bootstrap import Container
from fleetward.domain.jobs import NewJob
from fleetward.domain.overview import OverviewFigures
from fleetward.domain.sync import SyncRun, SyncStatus, SyncTrigger
from fleetward.services.overview import PROVIDER_CALL_KINDS
from tests.conftest import TenantFixture
from tests.support.agents import enrolled_agent
from tests.support.pages import api, trigger
from tests.support.pipeline import make_client, make_integration, post

UTC_ZONE = ZoneInfo("UTC")
COUNTS = {"created": 0, "resolved": 0, "reevaluated": 0, "unchanged": 0, "errors": 0}


def figures(
    container: Container, tenant: TenantFixture, now: datetime, zone: ZoneInfo = UTC_ZONE
) -> OverviewFigures:
    queries = SqlOverviewQueries(container.pipeline.uow)  # type: ignore[arg-type]
    return queries.figures(tenant.id, tenant.admin.user_id, now, zone, PROVIDER_CALL_KINDS)


def set_row(container: Container, table: Table, row_id: Any, **values: Any) -> None:
    """Back-date a stored row (the clock cannot make a week-old alert in a test)."""
    with container.pipeline.uow.write() as repos:
        repos.conn.execute(
            update(table).where(table.c.id == uuid.UUID(str(row_id))).values(**values)
        )


def alert_from(client: TestClient, integration: dict[str, Any], number: int, **fields: Any) -> str:
    answer = post(client, integration, trigger(f"a{number}", **fields))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["alert_id"])


def pipeline(client: TestClient, tenant: TenantFixture) -> tuple[str, dict[str, Any]]:
    client_id = make_client(client, tenant, f"Contoso {uuid.uuid4().hex[:4]}")
    integration = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    return client_id, integration


def test_open_alerts_are_counted_by_status_severity_and_client_of_this_tenant_only(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture, container: Container
) -> None:
    client_id, integration = pipeline(client, tenant)
    critical = [alert_from(client, integration, n, severity="critical") for n in range(3)]
    minor = alert_from(client, integration, 10, severity="minor")
    unmapped = make_integration(client, tenant, "generic")
    alert_from(client, unmapped, 20, severity="major")
    api(client, tenant, "POST", f"/api/v1/alerts/{critical[0]}/acknowledge")
    api(client, tenant, "POST", f"/api/v1/alerts/{minor}/resolve")
    _, theirs = pipeline(client, other_tenant)
    alert_from(client, theirs, 1, severity="critical")

    found = figures(container, tenant, datetime.now(UTC))

    assert found.open_alert_total == 4
    assert found.unacknowledged_criticals == 2
    assert found.severity_totals == {"critical": 3, "major": 1}
    assert found.by_client() == {uuid.UUID(client_id): 3, None: 1}


def test_open_tickets_fall_into_age_buckets_and_mine_are_those_assigned_to_me(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    now = datetime.now(UTC)
    me = str(tenant.admin.user_id)
    ages = [timedelta(minutes=30), timedelta(hours=2), timedelta(days=3), timedelta(days=10)]
    for index, age in enumerate(ages):
        body: dict[str, Any] = {"title": f"Ticket {index}"}
        if index % 2 == 0:
            body["assignee_id"] = me
        made = api(client, tenant, "POST", "/api/v1/tickets", json=body)
        set_row(container, schema.ticket, made["id"], created_at=now - age)
    closed = api(
        client, tenant, "POST", "/api/v1/tickets", json={"title": "Done", "assignee_id": me}
    )
    set_row(container, schema.ticket, closed["id"], is_closed=True, closed_at=now)
    # Exactly on a bucket's edge: one hour old is "1 to 24 h", not "< 1 h".
    edge = api(client, tenant, "POST", "/api/v1/tickets", json={"title": "Edge"})
    set_row(container, schema.ticket, edge["id"], created_at=now - timedelta(hours=1))

    found = figures(container, tenant, now)

    assert found.open_tickets_by_age == {"lt1h": 1, "1h-24h": 2, "1d-7d": 1, "gt7d": 1}
    assert found.my_open_tickets == 2
    assert found.open_ticket_total == 5


def test_response_times_are_medians_over_what_was_created_in_each_window(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    now = datetime.now(UTC)
    _, integration = pipeline(client, tenant)
    a = schema.alert
    # Created 1 day ago: acknowledged after 60, 120 and 600 s (median 120 s).
    for number, seconds in enumerate((60, 600, 120)):
        made = now - timedelta(days=1)
        alert_id = alert_from(client, integration, number)
        set_row(
            container,
            a,
            alert_id,
            created_at=made,
            status="acknowledged",
            acknowledged_at=made + timedelta(seconds=seconds),
        )
    # Created 10 days ago: only in the 30-day window; 4 values there, median of the middle two.
    old = alert_from(client, integration, 9)
    made = now - timedelta(days=10)
    set_row(
        container,
        a,
        old,
        created_at=made,
        status="resolved",
        acknowledged_at=made + timedelta(seconds=3600),
        resolved_at=made + timedelta(hours=5),
    )
    # Recorded resolved on arrival: no resolution anyone waited for.
    instant = alert_from(client, integration, 11)
    set_row(
        container,
        a,
        instant,
        status="resolved",
        resolved_at=now - timedelta(seconds=5),
        created_at=now - timedelta(seconds=5),
    )
    ticket = api(client, tenant, "POST", "/api/v1/tickets", json={"title": "Slow"})
    set_row(
        container,
        schema.ticket,
        ticket["id"],
        created_at=now - timedelta(days=2),
        closed_at=now - timedelta(days=1),
        is_closed=True,
    )

    queries = SqlOverviewQueries(container.pipeline.uow)  # type: ignore[arg-type]
    week, month = queries.response_times(tenant.id, now)

    assert (week.days, month.days) == (7, 30)
    # SQLite reckons in fractional days: exact to well under a second.
    assert week.alert_acknowledge.count == 3
    assert round(week.alert_acknowledge.seconds or 0) == 120
    assert month.alert_acknowledge.count == 4
    assert month.alert_acknowledge.seconds is not None
    assert round(month.alert_acknowledge.seconds) == (120 + 600) / 2
    assert (week.alert_resolve.seconds, week.alert_resolve.count) == (None, 0)
    assert month.alert_resolve.count == 1
    assert round(month.alert_resolve.seconds or 0) == 5 * 3600
    assert week.ticket_resolve.count == 1
    assert round(week.ticket_resolve.seconds or 0) == 86400


def test_days_of_the_charts_are_the_readers_days(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    _, integration = pipeline(client, tenant)
    # 2026-12-06 20:00 UTC is 7 December 09:00 in Auckland (UTC+13 in summer).
    for number, at in enumerate(
        (
            "2026-12-06T20:00:00Z",
            "2026-12-06T09:00:00Z",
            "2026-12-07T11:00:00Z",
            "2026-10-01T00:00:00Z",
        )
    ):
        alert_from(client, integration, number, occurred_at=at)

    in_utc = figures(container, tenant, now)
    in_auckland = figures(container, tenant, now, ZoneInfo("Pacific/Auckland"))

    assert len(in_utc.alerts_per_day) == 30
    assert in_utc.alerts_per_day[-1][0].isoformat() == "2026-12-07"
    assert [n for _, n in in_utc.alerts_per_day[-2:]] == [2, 1]
    assert sum(n for _, n in in_utc.alerts_per_day) == 3  # October is out of range
    # In Auckland the same three fall on three days: 09:00 UTC on the 6th is 22:00 there,
    # 20:00 UTC on the 6th is 09:00 on the 7th, 11:00 UTC on the 7th midnight on the 8th.
    assert in_auckland.alerts_per_day[-1][0].isoformat() == "2026-12-08"
    assert [n for _, n in in_auckland.alerts_per_day[-3:]] == [1, 1, 1]
    # Tickets per day count the ticket each new alert opened... none here (no rule).
    assert sum(n for _, n in in_utc.tickets_per_day) == 0


def test_agents_offline_are_those_not_seen_lately_and_not_revoked(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    now = datetime.now(UTC)
    agents = [enrolled_agent(client, tenant, f"WS-{n}") for n in range(4)]
    seen = (now - timedelta(seconds=30), now - timedelta(minutes=10), None, now)
    for agent, at in zip(agents, seen, strict=True):
        set_row(container, schema.agent, agent.id, last_seen_at=at)
    set_row(
        container, schema.agent, agents[3].id, revoked_at=now, last_seen_at=now - timedelta(hours=1)
    )

    found = figures(container, tenant, now)

    assert (found.agents_offline, found.agents_active) == (2, 3)


def test_integrations_failing_by_sync_or_provider_calls_and_silent_by_nothing_received(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    now = datetime.now(UTC)
    uow = container.pipeline.uow
    long_ago = now - timedelta(days=30)
    _, busy = pipeline(client, tenant)
    alert_id = alert_from(client, busy, 1)
    quiet = make_integration(client, tenant, "generic")
    synced = make_integration(client, tenant, "ninjaone")
    new = make_integration(client, tenant, "generic")
    resetting = make_integration(client, tenant, "generic")
    for made in (busy, quiet, synced, resetting):
        set_row(container, schema.integration, made["id"], created_at=long_ago)
    # `resetting` only had a reset lately: a webhook came, so it is not silent.
    with uow.write() as repos:
        repos.receipts.add(tenant.id, uuid.UUID(resetting["id"]), "reset", "r1", now)
    # `synced` last failed a sync (an earlier one succeeded), and received nothing.
    for status, started in ((SyncStatus.SUCCEEDED, 3), (SyncStatus.FAILED, 1)):
        run = SyncRun(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            integration_id=uuid.UUID(synced["id"]),
            trigger=SyncTrigger.MANUAL,
            status=SyncStatus.RUNNING,
            started_at=now - timedelta(hours=started),
            lease_until=now,
        )
        with uow.write() as repos:
            assert repos.sync_runs.start(run, run.started_at)
            repos.sync_runs.finish(
                run.id, status, now, COUNTS, "boom" if status is SyncStatus.FAILED else None
            )
    # `busy` has a reset its provider keeps refusing.
    with uow.write() as repos:
        repos.jobs.enqueue(
            NewJob(
                tenant.id, PROVIDER_CALL_KINDS[0], {}, ref_type="alert", ref_id=uuid.UUID(alert_id)
            ),
            now,
        )
        repos.conn.execute(
            update(schema.job)
            .where(schema.job.c.ref_id == uuid.UUID(alert_id))
            .values(last_error="HTTP 500")
        )

    found = {str(i.id): i for i in figures(container, tenant, now).integrations}

    assert found[busy["id"]].failing and found[busy["id"]].outbound_failures == 1
    assert not found[busy["id"]].silent(now)
    assert found[synced["id"]].last_sync_failed and found[synced["id"]].failing
    assert found[synced["id"]].silent(now)
    assert found[quiet["id"]].silent(now) and not found[quiet["id"]].failing
    assert not found[resetting["id"]].silent(now)
    # Too new to be called silent.
    assert not found[new["id"]].silent(now) and not found[new["id"]].failing
