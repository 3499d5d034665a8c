"""hot_sql over rows a real webhook trigger wrote.

On SQLite hot_sql runs on the driver with its own binding and reading, so it is
compared with SQLAlchemy's execution of the same statements. On PostgreSQL it
goes through SQLAlchemy itself, where that comparison would prove nothing: there
(and on SQLite too) it must read back the values the sample payload carried.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, bindparam, false, func, insert, select
from sqlalchemy.exc import IntegrityError

from fleetward.adapters.storage import hot_sql, schema
from fleetward.adapters.storage.database import json_text
from fleetward.bootstrap import Container
from fleetward.domain.rules import RuleActions
from tests.conftest import TenantFixture
from tests.support.pipeline import add_rule, make_client, make_integration, map_org, post, sample


@pytest.fixture
def triggered(client: TestClient, tenant: TenantFixture, container: Container) -> dict[str, Any]:
    """One NinjaOne trigger taken all the way: an asset, an alert and a ticket stored."""
    integration = make_integration(client, tenant, "ninjaone")
    contoso = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, contoso)
    add_rule(container, tenant.id, actions=RuleActions())
    answer = post(client, integration, sample("ninjaone", "condition_triggered"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "created"
    return {
        "integration_id": uuid.UUID(integration["id"]),
        "tenant_id": tenant.id,
        "client_id": uuid.UUID(contoso),
    }


def test_rows_read_back_carry_the_values_the_trigger_stored(
    container: Container, triggered: dict[str, Any]
) -> None:
    """On both engines: the sample's fields, typed (UUIDs, UTC times, JSON, booleans)."""
    trigger = sample("ninjaone", "condition_triggered")
    at = datetime.fromtimestamp(trigger["activityTime"], UTC)
    by_tenant = {"tenant_id": triggered["tenant_id"]}
    with container.db.read() as conn:
        (asset,) = hot_sql.fetch_all(
            conn,
            ("test_hot_sql", "known asset"),
            lambda: select(*schema.asset.c).where(
                schema.asset.c.tenant_id == bindparam("tenant_id")
            ),
            by_tenant,
        )
        (alert,) = hot_sql.fetch_all(
            conn,
            ("test_hot_sql", "known alert"),
            lambda: select(*schema.alert.c).where(
                schema.alert.c.integration_id == bindparam("integration_id")
            ),
            {"integration_id": triggered["integration_id"]},
        )
        (ticket,) = hot_sql.fetch_all(
            conn,
            ("test_hot_sql", "known ticket"),
            lambda: select(*schema.ticket.c).where(
                schema.ticket.c.tenant_id == bindparam("tenant_id"),
                schema.ticket.c.is_closed == false(),
            ),
            by_tenant,
        )
        top = hot_sql.fetch_scalar(
            conn,
            ("test_hot_sql", "known top number"),
            lambda: select(func.max(schema.ticket.c.number)).where(
                schema.ticket.c.tenant_id == bindparam("tenant_id")
            ),
            by_tenant,
        )
    device = trigger["device"]
    assert (asset["external_device_id"], asset["name"], asset["external_org_id"]) == (
        str(device["id"]),
        device["displayName"],
        str(device["organizationId"]),
    )
    assert asset["client_id"] == triggered["client_id"]
    assert alert["device_external_id"] == str(trigger["deviceId"])
    assert alert["device_name"] == device["displayName"]
    assert alert["message"] == trigger["message"]
    assert alert["occurred_at"] == at and alert["occurred_at"].tzinfo is not None
    assert alert["resolved_at"] is None
    assert (alert["asset_id"], alert["client_id"], alert["ticket_id"]) == (
        asset["id"],
        triggered["client_id"],
        ticket["id"],
    )
    assert isinstance(alert["trace"], (dict, list)) and alert["trace"]
    assert trigger["subject"] in ticket["title"]
    assert ticket["is_closed"] is False and ticket["closed_at"] is None
    assert ticket["client_id"] == triggered["client_id"]
    assert (ticket["number"], ticket["occurrence_count"], top) == (1, 1, 1)


def through_sqlalchemy(conn: Connection, statement: Any, params: dict[str, Any]) -> list[Any]:
    return [dict(row) for row in conn.execute(statement, params).mappings()]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rows_read_back_on_sqlites_driver_are_the_values_sqlalchemy_reads(
    container: Container, triggered: dict[str, Any]
) -> None:
    ticket, alert, asset = schema.ticket, schema.alert, schema.asset
    cases = {
        # Every column type the pipeline reads: UUIDs, UTC times, JSON, booleans,
        # text, integers; literal predicates; an aggregate.
        "tickets": (
            select(*ticket.c).where(
                ticket.c.tenant_id == bindparam("tenant_id"), ticket.c.is_closed == false()
            ),
            {"tenant_id": triggered["tenant_id"]},
        ),
        "alerts": (
            select(*alert.c).where(alert.c.integration_id == bindparam("integration_id")),
            {"integration_id": triggered["integration_id"]},
        ),
        "assets": (
            select(*asset.c).where(asset.c.tenant_id == bindparam("tenant_id")),
            {"tenant_id": triggered["tenant_id"]},
        ),
        "top ticket number": (
            select(func.max(ticket.c.number)).where(ticket.c.tenant_id == bindparam("tenant_id")),
            {"tenant_id": triggered["tenant_id"]},
        ),
    }
    with container.db.read() as conn:
        for name, (statement, params) in cases.items():
            expected = through_sqlalchemy(conn, statement, params)
            assert expected, f"{name}: the trigger stored nothing to compare"
            found = hot_sql.fetch_all(conn, ("test_hot_sql", name), lambda s=statement: s, params)
            assert [list(row.values()) for row in found] == [
                list(row.values()) for row in expected
            ], name
        alert_id = select(alert.c.id).where(alert.c.integration_id == bindparam("integration_id"))
        params = {"integration_id": triggered["integration_id"]}
        expected_id = conn.execute(alert_id, params).scalar()
        assert isinstance(expected_id, uuid.UUID)
        key = ("test_hot_sql", "alert id")
        assert hot_sql.fetch_scalar(conn, key, lambda: alert_id, params) == expected_id
        # No row: no mappings, and no scalar.
        alerts = cases["alerts"][0]
        nobody = {"integration_id": uuid.uuid4()}
        assert hot_sql.fetch_scalar(conn, key, lambda: alert_id, nobody) is None
        assert hot_sql.fetch_all(conn, ("test_hot_sql", "alerts"), lambda: alerts, nobody) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rows_written_on_sqlites_driver_read_back_as_sqlalchemys_own(
    container: Container, triggered: dict[str, Any]
) -> None:
    """The same values inserted both ways read back alike, JSON, None and times included."""
    at = datetime(2024, 3, 31, 1, 30, 0, 250_000, tzinfo=UTC)
    payload = {"text": "café ✓", "nested": [1, 2.5, None, True], "big": 2**70}

    def values(kind: str) -> dict[str, Any]:
        return {"tenant_id": triggered["tenant_id"], "type": kind, "payload": payload}

    events = schema.domain_event
    with container.db.write() as conn:
        hot_sql.execute(
            conn,
            ("test_hot_sql", "event"),
            lambda: insert(events),
            {**values("hot"), "created_at": at},
        )
        conn.execute(insert(events), {**values("core"), "created_at": at})
    with container.db.read() as conn:
        rows = conn.execute(
            select(events.c.type, events.c.payload, events.c.created_at, events.c.published_at)
            .where(events.c.type.in_(["hot", "core"]))
            .order_by(events.c.type)
        ).all()
    (core, hot) = rows
    assert hot[1:] == core[1:] == (payload, at, None)


def test_a_unique_clash_on_the_driver_is_sqlalchemys_integrity_error(
    container: Container, triggered: dict[str, Any]
) -> None:
    with container.db.read() as conn:
        (row,) = conn.execute(select(*schema.asset.c)).mappings().all()
    clash = {**row, "id": uuid.uuid4()}  # same integration and device
    with pytest.raises(IntegrityError), container.db.write() as conn:
        hot_sql.execute(conn, ("insert", "asset"), lambda: insert(schema.asset), clash)


def test_json_columns_store_what_the_stdlib_would_parse_back() -> None:
    for value in ({"a": 1, "b": [None, "é"]}, {1: "int key"}, {"big": 2**80}, None, []):
        text = json_text(value)
        expected = json.loads(json.dumps(value))
        assert json.loads(text) == expected, value
