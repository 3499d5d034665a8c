"""hot_sql answers exactly as SQLAlchemy does, on both engines (SQLite's driver path,
PostgreSQL's SQLAlchemy path), over rows a real webhook trigger wrote."""

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
    map_org(client, tenant, integration, 7, make_client(client, tenant, "Contoso"))
    add_rule(container, tenant.id, actions=RuleActions())
    answer = post(client, integration, sample("ninjaone", "condition_triggered"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "created"
    return {"integration_id": uuid.UUID(integration["id"]), "tenant_id": tenant.id}


def through_sqlalchemy(conn: Connection, statement: Any, params: dict[str, Any]) -> list[Any]:
    return [dict(row) for row in conn.execute(statement, params).mappings()]


def test_rows_read_back_are_the_values_sqlalchemy_reads(
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


def test_written_rows_read_back_as_sqlalchemys_own(
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
