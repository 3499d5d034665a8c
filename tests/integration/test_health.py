"""/healthz says what works: ok (200), degraded when writes fail (200), unavailable
when reads fail (503), with the reason; and it says ok again once the fault is gone.

The faults are real ones of each engine: on SQLite another process's connection
holding the write lock, or the schema gone; on PostgreSQL the database made
read-only (as a standby is) or refusing connections. (A read-only file or a full
disk on SQLite need an unprivileged server or a mount: tests/verify does those.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.conftest import TenantFixture
from tests.support.agent_live import wait_for
from tests.support.postgres import PostgresServer

# Each probe's answer is reused for about a second: recovery is polled, bounded.
RECOVERY_S = 15


def _database_name(database_url: str) -> str:
    name = make_url(database_url).database
    assert name
    return name


def _drop_sessions(server: PostgresServer, name: str) -> None:
    """Cut the app's sessions (its pool reconnects), as a failover would."""
    with psycopg.connect(server.admin_dsn(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


@contextmanager
def writes_refused(request: pytest.FixtureRequest, database_url: str) -> Iterator[str]:
    """Writes fail while the block runs; yields the reason /healthz should give."""
    name = _database_name(database_url)
    if database_url.startswith("sqlite"):
        # Another process (a CLI job, a backup) holding SQLite's one write lock.
        other = sqlite3.connect(name, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield "locked by another writer"
        finally:
            other.rollback()
            other.close()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    server.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    _drop_sessions(server, name)
    try:
        yield "read-only"
    finally:
        server.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")


@contextmanager
def reads_refused(request: pytest.FixtureRequest, database_url: str) -> Iterator[None]:
    name = _database_name(database_url)
    if database_url.startswith("sqlite"):
        # The schema gone (a wrong or emptied database file): nothing reads.
        with sqlite3.connect(name, isolation_level=None) as other:
            other.execute("ALTER TABLE alembic_version RENAME TO alembic_version_away")
        try:
            yield
        finally:
            with sqlite3.connect(name, isolation_level=None) as other:
                other.execute("ALTER TABLE alembic_version_away RENAME TO alembic_version")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    server.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
    _drop_sessions(server, name)
    try:
        yield
    finally:
        server.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")


def _health(client: TestClient) -> tuple[int, dict[str, Any]]:
    answer = client.get("/healthz")
    body: dict[str, Any] = answer.json()
    return answer.status_code, body


OK = {"status": "ok", "database": {"read": True, "write": True, "reason": None}}


def test_healthy_database_is_ok_200(client: TestClient) -> None:
    assert _health(client) == (200, OK)


def test_writes_failing_is_degraded_200_with_the_reason_and_ok_once_they_work(
    request: pytest.FixtureRequest, database_url: str, client: TestClient, tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    assert client.get("/api/v1/clients", headers=h).status_code == 200
    with writes_refused(request, database_url) as reason:
        status, body = _health(client)
        assert status == 200
        assert body == {
            "status": "degraded",
            "database": {"read": True, "write": False, "reason": reason},
        }
        assert client.get("/api/v1/clients", headers=h).status_code == 200
    wait_for(lambda: _health(client) == (200, OK), RECOVERY_S, "/healthz ok again")
    assert client.post("/api/v1/clients", json={"name": "After"}, headers=h).status_code == 201


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_read_only_database_refuses_writes_and_still_answers_reads_with_a_new_key(
    request: pytest.FixtureRequest, database_url: str, client: TestClient, tenant: TenantFixture
) -> None:
    """A key's first use notes when it was used (a write): that must not turn the
    read into a 503. After the database is writable again, sessions opened while
    it was read-only are not kept: writes land at once."""
    with writes_refused(request, database_url):
        listed = client.get("/api/v1/clients", headers=tenant.readonly.headers)
        assert listed.status_code == 200, listed.text
        refused = client.post("/api/v1/clients", json={"name": "X"}, headers=tenant.admin.headers)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "storage_unavailable"
    made = client.post("/api/v1/clients", json={"name": "Y"}, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text


def test_reads_failing_is_unavailable_503_and_ok_once_they_work(
    request: pytest.FixtureRequest, database_url: str, client: TestClient
) -> None:
    with reads_refused(request, database_url):
        status, body = _health(client)
        assert status == 503
        assert body["status"] == "unavailable"
        assert body["database"]["read"] is False
        assert body["database"]["write"] is False
        assert body["database"]["reason"]
    wait_for(lambda: _health(client) == (200, OK), RECOVERY_S, "/healthz ok again")
