"""The schema, migrations and the SQLite single writer, on both engines."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError

from fleetward.adapters.storage import migrate, schema
from fleetward.adapters.storage.database import Database, normalize_url


# Alembic cannot compare expression indexes (lower(name)); test_list_sorts_api.py
# checks that one exists on both engines instead.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_produce_exactly_the_declared_schema(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        assert diff == []
        assert migrate.current_revision(db) == migrate.head_revision(db)
        migrate.upgrade(db)  # a second run is a no-op
        assert migrate.current_revision(db) == migrate.head_revision(db)
    finally:
        db.dispose()


def test_foreign_keys_are_enforced(database_url: str) -> None:
    db = Database(database_url)
    now = datetime.now(UTC)
    try:
        with pytest.raises(DBAPIError), db.write() as conn:
            conn.execute(
                insert(schema.client).values(
                    id=uuid.uuid4(),
                    tenant_id=uuid.uuid4(),
                    name="orphan",
                    notes="",
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with db.read() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        db.dispose()


def test_concurrent_writers_never_see_database_is_locked(database_url: str) -> None:
    """Many threads writing at once all succeed: SQLite gets one writer at a time."""
    db = Database(database_url)
    now = datetime.now(UTC)
    tenant_id = uuid.uuid4()
    with db.write() as conn:
        conn.execute(insert(schema.tenant).values(id=tenant_id, name="t", created_at=now))
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                with db.write() as conn:
                    # Read then write in one transaction: the pattern that deadlocks
                    # deferred SQLite transactions without a single writer.
                    conn.execute(select(schema.client.c.id).limit(1)).all()
                    conn.execute(
                        insert(schema.client).values(
                            id=uuid.uuid4(),
                            tenant_id=tenant_id,
                            name=f"c{n}-{i}",
                            notes="",
                            created_at=now,
                            updated_at=now,
                        )
                    )
        except BaseException as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert failures == []
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM client")).scalar() == 160
    finally:
        db.dispose()


def test_urls_people_write_are_accepted() -> None:
    assert normalize_url("postgresql://u:p@h/db").startswith("postgresql+psycopg://u:p@h/db")
    assert normalize_url("sqlite:///x.db") == "sqlite+pysqlite:///x.db"
    with pytest.raises(ValueError, match="unsupported"):
        normalize_url("mysql://h/db")
