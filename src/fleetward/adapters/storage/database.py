"""Engines for SQLite (default) and PostgreSQL, with one writer on SQLite.

SQLite allows one writer at a time; rather than let concurrent requests
collide on "database is locked", every write transaction in this process
takes one lock and starts with BEGIN IMMEDIATE (so another process, such as
the CLI, waits on busy_timeout instead of failing mid-transaction).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
import structlog
from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError

from fleetward.adapters.private_files import make_private_dir, make_private_file
from fleetward.adapters.storage.agent_repositories import AgentRepositories
from fleetward.adapters.storage.checkpoint import BACKSTOP_FRAMES, WalCheckpointer
from fleetward.adapters.storage.faults import (
    STORAGE_ERRORS,
    WriteOutcomes,
    as_storage_unavailable,
    discards_connection,
    fault_reason,
    not_writable_error,
    storage_unavailable,
)
from fleetward.adapters.storage.group_commit import GroupCommitWriter, WriterBusy
from fleetward.adapters.storage.health import StorageHealth
from fleetward.adapters.storage.pipeline_repositories import PipelineRepositories
from fleetward.adapters.storage.repositories import SqlRepositories, repository
from fleetward.adapters.storage.search_repositories import SearchRepository


class AllRepositories(SqlRepositories, PipelineRepositories, AgentRepositories):
    """Every repository, bound to one transaction, each made on first use (a
    transaction touches a few of some thirty)."""

    search = repository(SearchRepository)


log = structlog.get_logger("fleetward.storage")
SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long the health probe waits for another process's write lock: a lock held
# longer already stalls real writes, and /healthz answers within a few seconds.
PROBE_BUSY_TIMEOUT_MS = 1_000
OPENED_READ_ONLY = "fleetward_opened_read_only"  # in a pooled connection's info
MAX_STALE_CONNECTIONS = 32  # more than the pool holds
T = TypeVar("T")
# A no-op write on the one-row table every database has: it takes the write
# lock and, on SQLite, appends one page to the WAL, as every commit must; it
# never grows the database.
WRITE_PROBE = "UPDATE alembic_version SET version_num = version_num"
READ_PROBE = "SELECT 1 FROM alembic_version"


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
        self._file = database if database and database != ":memory:" else None
        self._checkpointer = WalCheckpointer(self._file) if self._file else None
        # Storage faults of real writes, and what the database can do, for /healthz.
        self.write_outcomes = WriteOutcomes()
        self.health = StorageHealth(self)
        self.engine = self._make_engine()
        self._writer = (
            GroupCommitWriter(self.write, transaction_now=self._write_now)
            if self.is_sqlite
            else None
        )

    def _make_engine(self) -> Engine:
        if not self.is_sqlite:
            engine = create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=20,
                json_serializer=json_text,
            )

            @event.listens_for(engine, "handle_error")
            def _on_error(context: ExceptionContext) -> None:
                # A session opened while the database was read-only (a standby, or
                # default_transaction_read_only) stays so: as for a lost server,
                # discard it and every pooled session opened before.
                if discards_connection(context.original_exception):
                    context.is_disconnect = True

            return engine
        if self._file and not self._file.startswith("file:"):
            make_private_dir(Path(self._file).parent)
            make_private_file(Path(self._file))
        engine = create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=8,
            json_serializer=json_text,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, record: Any) -> None:
            # SQLite opens a file it may not write read-only, and the connection
            # stays so: it must not be handed to a writer once the file is
            # writable again (its BEGIN succeeds; its first write fails).
            record.info[OPENED_READ_ONLY] = not self._file_writable()
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
        with self._writing(self.write_outcomes) as conn:
            yield conn

    @contextmanager
    def _writing(
        self, outcomes: WriteOutcomes | None, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    ) -> Iterator[Connection]:
        """write(), noting its storage fault or success in `outcomes`, if given."""
        try:
            if self.is_sqlite:
                with self._write_lock, self._sqlite_transaction(busy_timeout_ms) as conn:
                    yield conn
            else:
                with self.engine.begin() as conn:
                    yield conn
        except BaseException as error:
            if outcomes is not None and (reason := fault_reason(error)):
                outcomes.failed(reason)
            raise
        if outcomes is not None:
            outcomes.succeeded()
        self._committed()

    @contextmanager
    def _sqlite_transaction(self, busy_timeout_ms: int) -> Iterator[Connection]:
        """A pooled connection in BEGIN IMMEDIATE (the write lock is held),
        discarded when a storage fault leaves it unfit."""
        self._check_writable()
        conn, transaction = self._begin_immediate(busy_timeout_ms)
        try:
            with transaction:
                yield conn
        except BaseException as error:
            _discard_if_broken(conn, error)
            raise
        finally:
            if busy_timeout_ms != SQLITE_BUSY_TIMEOUT_MS:
                _set_busy_timeout(conn, SQLITE_BUSY_TIMEOUT_MS)
            conn.close()

    def _begin_immediate(self, busy_timeout_ms: int) -> tuple[Connection, RootTransaction]:
        """A pooled connection that began a write transaction.

        A connection opened while the file was read-only, which SQLite keeps
        read-only for good, or one that cannot begin for a storage fault, is
        discarded and a fresh one tried once (nothing ran yet): a pool would
        hand such connections out long after the file is writable again.
        """
        for retry in (True, False):
            conn = self._writable_connection()
            try:
                if busy_timeout_ms != SQLITE_BUSY_TIMEOUT_MS:
                    _set_busy_timeout(conn, busy_timeout_ms)
                return conn, conn.begin()
            except BaseException as error:
                discarded = _discard_if_broken(conn, error)
                if busy_timeout_ms != SQLITE_BUSY_TIMEOUT_MS:
                    _set_busy_timeout(conn, SQLITE_BUSY_TIMEOUT_MS)
                conn.close()
                if not (retry and discarded):
                    raise
        raise AssertionError("unreachable")

    def _writable_connection(self) -> Connection:
        """A pooled connection not opened read-only (the file is writable now:
        _check_writable); each opened read-only is discarded on the way."""
        for _ in range(MAX_STALE_CONNECTIONS):
            conn = self.engine.connect().execution_options(sqlite_begin="IMMEDIATE")
            if not conn.info.get(OPENED_READ_ONLY):
                break
            conn.invalidate()
            conn.close()
        return conn

    def _check_writable(self) -> None:
        """Refuse to write a SQLite file this process may no longer write.

        A connection opened before the file (or its file system) was made
        read-only keeps writing through its open file handle, while any
        connection opened since, and this server after a restart, cannot.
        Whether a write landed would depend on the connection it drew; every
        write is refused instead (503, retry later) until the file is
        writable again. One access() call per transaction, well under a
        microsecond.
        """
        if not self._file_writable():
            raise not_writable_error()

    def _file_writable(self) -> bool:
        return (
            self._file is None
            or os.access(self._file, os.W_OK)
            or not os.path.exists(self._file)  # a new database: SQLite creates it
        )

    @contextmanager
    def _write_now(self) -> Iterator[Connection]:
        """write() for the event loop, which must not wait: WriterBusy when a thread
        here or another process holds the write lock (SQLite only).

        It runs on a connection of its own, kept open and set never to wait for
        SQLite's lock, so a batch pays neither a pool checkout and the rollback
        of its return nor two busy-timeout changes: on the webhook route those
        were a tenth of a trigger. A storage fault discards that connection
        (the next batch opens another); the writer's thread, which runs the
        failed batch again, notes the fault.
        """
        if not self._write_lock.acquire(blocking=False):
            raise WriterBusy
        try:
            self._check_writable()
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
                self._drop_loop_connection(error)
                raise
            try:
                transaction = conn.begin()  # adopts the driver's transaction (_on_begin)
            except BaseException:
                driver.rollback()
                raise
            try:
                with transaction:
                    yield conn
            except BaseException as error:
                self._drop_loop_connection(error)
                raise
        finally:
            self._write_lock.release()
        self.write_outcomes.succeeded()
        self._committed()

    def _committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.nudge()

    def _loop_connection(self) -> Connection:
        """The event loop's write connection (the write lock is held)."""
        conn = self._loop_conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._loop_conn = self._writable_connection()
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout=0")
        return conn

    def _drop_loop_connection(self, error: BaseException) -> None:
        """Discard the loop's connection if `error` left it unfit (the write lock is held)."""
        conn = self._loop_conn
        if conn is not None and _discard_if_broken(conn, error):
            self._loop_conn = None
            conn.close()

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
        with self.engine.connect() as conn:
            try:
                with conn.begin():
                    yield conn
            except BaseException as error:
                _discard_if_broken(conn, error)
                raise

    @property
    def write_queue_depth(self) -> int:
        """Write jobs waiting for SQLite's one writer; PostgreSQL's writers queue in
        its pool instead, so there it is always 0."""
        return 0 if self._writer is None else self._writer.waiting

    def probe_read(self) -> None:
        """Read a row of a real table: raises when reads fail."""
        with self.read() as conn:
            conn.execute(text(READ_PROBE)).fetchall()

    def probe_write(self) -> None:
        """Commit a write that changes nothing, on the path real writes take (the
        write lock, the read-only check, BEGIN IMMEDIATE, the WAL): raises when
        writes fail. Not counted among real writes' outcomes: a full disk may
        take this one page and still refuse a webhook's dozen. On SQLite it
        waits at most PROBE_BUSY_TIMEOUT_MS for another process's lock."""
        with self._writing(None, PROBE_BUSY_TIMEOUT_MS) as conn:
            conn.execute(text(WRITE_PROBE))

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


def _set_busy_timeout(conn: Connection, milliseconds: int) -> None:
    """On the driver: through SQLAlchemy the PRAGMA would begin a transaction."""
    if conn.closed or conn.invalidated:
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA busy_timeout={milliseconds}")


def _discard_if_broken(conn: Connection, error: BaseException) -> bool:
    """Invalidate `conn` (the pool opens a fresh one in its place) when `error`
    is a storage fault that leaves it unfit; whether it was."""
    if not discards_connection(error):
        return False
    if not conn.closed and not conn.invalidated:
        conn.invalidate()
    return True


class SqlUnitOfWork:
    """The UnitOfWork port over a Database: repositories bound to one transaction.

    The storage boundary: the database library's errors leave it as the
    domain's StorageUnavailable (faults.storage_unavailable), so services and
    entrypoints never see SQLAlchemy.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    # Plain try blocks rather than as_storage_unavailable(): these run on every
    # request, and a try costs nothing until something raises.

    @contextmanager
    def write(self) -> Iterator[AllRepositories]:
        try:
            with self.db.write() as conn:
                yield AllRepositories(conn)
        except STORAGE_ERRORS as error:
            raise storage_unavailable(error) from error

    @contextmanager
    def read(self) -> Iterator[AllRepositories]:
        try:
            with self.db.read() as conn:
                yield AllRepositories(conn)
        except STORAGE_ERRORS as error:
            raise storage_unavailable(error) from error

    def run_write(self, job: Callable[[AllRepositories], T]) -> T:
        try:
            return self.db.run_write(lambda conn: job(AllRepositories(conn)))
        except STORAGE_ERRORS as error:
            raise storage_unavailable(error) from error

    async def run_write_async(self, job: Callable[[AllRepositories], T]) -> T:
        try:
            return await self.db.run_write_async(lambda conn: job(AllRepositories(conn)))
        except STORAGE_ERRORS as error:
            raise storage_unavailable(error) from error

    def try_write(self, job: Callable[[AllRepositories], object]) -> bool:
        with as_storage_unavailable():
            try:
                with self.db.write() as conn:
                    job(AllRepositories(conn))
            except DBAPIError as error:
                reason = fault_reason(error)
                if reason is None:
                    raise
                log.warning("write_skipped", reason=reason)
                return False
        return True
