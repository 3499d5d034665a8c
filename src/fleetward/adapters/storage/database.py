"""Engines for SQLite (default) and PostgreSQL, with one writer on SQLite.

SQLite allows one writer at a time; rather than let concurrent requests
collide on "database is locked", every write transaction in this process
takes one lock and starts with BEGIN IMMEDIATE (so another process, such as
the CLI, waits on busy_timeout instead of failing mid-transaction).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from fleetward.adapters.storage.agent_repositories import AgentRepositories
from fleetward.adapters.storage.alert_repositories import PipelineRepositories
from fleetward.adapters.storage.checkpoint import BACKSTOP_FRAMES, WalCheckpointer
from fleetward.adapters.storage.group_commit import GroupCommitWriter, WriterBusy
from fleetward.adapters.storage.repositories import SqlRepositories


class AllRepositories(SqlRepositories, PipelineRepositories, AgentRepositories):
    """Every repository, bound to one transaction, each made on first use (a
    transaction touches a few of some thirty)."""


SQLITE_BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Accept the URLs people write (postgresql://) and pick our drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}: use sqlite or postgresql"
    )


def json_text(value: Any) -> str:
    """What JSON columns store: orjson's text, a tenth of the stdlib's cost on the
    pipeline's small documents. Integers past 64 bits, which orjson refuses, go
    to the stdlib; both read back as the same values."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or one of its extended codes: another writer holds the lock."""
    return error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock = threading.Lock()
        self._loop_conn: Connection | None = None
        database = make_url(self.url).database if self.is_sqlite else None
        self._checkpointer = (
            WalCheckpointer(database) if database and database != ":memory:" else None
        )
        self.engine = self._make_engine()
        self._writer = (
            GroupCommitWriter(self.write, transaction_now=self._write_now)
            if self.is_sqlite
            else None
        )

    def _make_engine(self) -> Engine:
        if not self.is_sqlite:
            return create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=20,
                json_serializer=json_text,
            )
        database = make_url(self.url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=8,
            json_serializer=json_text,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own
            # transaction handling would start transactions lazily).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            if self._checkpointer is not None:  # it checkpoints; writers only as a backstop
                cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_FRAMES}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            driver = conn.connection.driver_connection
            if driver is not None and driver.in_transaction:
                return  # _write_now began it on the driver, without waiting
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that may write; committed when the block ends cleanly."""
        if not self.is_sqlite:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
        self._committed()

    @contextmanager
    def _write_now(self) -> Iterator[Connection]:
        """write() for the event loop, which must not wait: WriterBusy when a thread
        here or another process holds the write lock (SQLite only).

        It runs on a connection of its own, kept open and set never to wait for
        SQLite's lock, so a batch pays neither a pool checkout and the rollback
        of its return nor two busy-timeout changes: on the webhook route those
        were a tenth of a trigger.
        """
        if not self._write_lock.acquire(blocking=False):
            raise WriterBusy
        try:
            conn = self._loop_connection()
            driver = conn.connection.driver_connection
            assert driver is not None
            try:
                # With no busy timeout, BEGIN IMMEDIATE fails at once instead of
                # blocking the loop for up to SQLITE_BUSY_TIMEOUT_MS.
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if _is_busy(error):
                    raise WriterBusy from error
                raise
            try:
                transaction = conn.begin()  # adopts the driver's transaction (_on_begin)
            except BaseException:
                driver.rollback()
                raise
            with transaction:
                yield conn
        finally:
            self._write_lock.release()
        self._committed()

    def _committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.nudge()

    def _loop_connection(self) -> Connection:
        """The event loop's write connection (the write lock is held)."""
        conn = self._loop_conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._loop_conn = self.engine.connect()
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout=0")
        return conn

    def run_write(self, job: Callable[[Connection], T]) -> T:
        """`job` in a write transaction, answered once committed.

        On SQLite the job joins whatever else is waiting for the one writer and
        shares its commit (group_commit.py); PostgreSQL takes concurrent
        writers itself, so there the job simply runs in its own transaction.
        """
        if self._writer is None:
            with self.write() as conn:
                return job(conn)
        return self._writer.run(job)

    async def run_write_async(self, job: Callable[[Connection], T]) -> T:
        """run_write() for the event loop: on SQLite the caller holds no thread while
        it waits (the writer's own thread leads when nobody else does)."""
        if self._writer is None:
            return await asyncio.to_thread(self.run_write, job)
        return await self._writer.run_async(job)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent read-only snapshot."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @property
    def write_queue_depth(self) -> int:
        """Write jobs waiting for SQLite's one writer; PostgreSQL's writers queue in
        its pool instead, so there it is always 0."""
        return 0 if self._writer is None else self._writer.waiting

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._write_lock:
            if self._loop_conn is not None:
                self._loop_conn.close()
                self._loop_conn = None
        self.engine.dispose()


class SqlUnitOfWork:
    """The UnitOfWork port over a Database: repositories bound to one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def write(self) -> Iterator[AllRepositories]:
        with self.db.write() as conn:
            yield AllRepositories(conn)

    @contextmanager
    def read(self) -> Iterator[AllRepositories]:
        with self.db.read() as conn:
            yield AllRepositories(conn)

    def run_write(self, job: Callable[[AllRepositories], T]) -> T:
        return self.db.run_write(lambda conn: job(AllRepositories(conn)))

    async def run_write_async(self, job: Callable[[AllRepositories], T]) -> T:
        return await self.db.run_write_async(lambda conn: job(AllRepositories(conn)))
