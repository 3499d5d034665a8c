"""Storage faults: which errors mean the storage failed, what to call them, and
which leave a connection that must not be used again.

A job's own errors (a constraint it broke, a bug) are not storage faults: the
storage answered. A fault is the storage itself refusing: a read-only file or
database, a full disk, an I/O error, a file that cannot be opened, a lock
held too long, a server that went away. /healthz reports them in the short
words of `fault_reason` (it answers without credentials, so never the
driver's own message, which may name hosts or paths).

SQLite keeps a connection that met some of these as it was: one opened while
the file was read-only stays read-only when the file is writable again, and
one that hit an I/O error may hold a state nobody should write through. Such
connections are discarded and reopened (`discards_connection`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from fleetward.domain.errors import StorageUnavailable

_SQLITE_REASONS = {
    sqlite3.SQLITE_READONLY: "read-only",
    sqlite3.SQLITE_FULL: "disk full",
    sqlite3.SQLITE_IOERR: "I/O error",
    sqlite3.SQLITE_CANTOPEN: "cannot open the database file",
    sqlite3.SQLITE_CORRUPT: "database file is corrupt",
    sqlite3.SQLITE_NOTADB: "database file is corrupt",
    sqlite3.SQLITE_PERM: "permission denied",
    sqlite3.SQLITE_BUSY: "locked by another writer",
    sqlite3.SQLITE_LOCKED: "locked by another writer",
}
# After these a SQLite connection is not trusted again (BUSY and LOCKED leave it sound).
_SQLITE_DISCARD = frozenset(_SQLITE_REASONS) - {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}

# PostgreSQL, by SQLSTATE class (the first two characters) or whole code.
_POSTGRES_REASONS = {
    "25006": "read-only",  # read_only_sql_transaction: a standby, or the database set so
    "53100": "disk full",
    "53": "out of resources",
    "58": "I/O error",
    "08": "unreachable",
    "57P": "unreachable",  # the server shutting down or not yet accepting
    "55P03": "locked",
    "57014": "timed out",
}
POSTGRES_READ_ONLY = "25006"


# What the database library raises when the storage failed or stayed busy.
STORAGE_ERRORS = (DBAPIError, PoolTimeout)


def storage_unavailable(error: DBAPIError | PoolTimeout) -> StorageUnavailable:
    """The domain's error for one of STORAGE_ERRORS (answered 503: nothing was
    acknowledged, retry later); raise it `from` the original.

    Any DBAPIError counts, also a constraint a repository did not turn into a
    Conflict: the storage could not keep what was asked, and the transaction
    was rolled back whole.
    """
    if isinstance(error, PoolTimeout):
        # Every database connection stayed busy for the pool's whole timeout.
        return StorageUnavailable("storage is busy; retry later", str(error), busy=True)
    return StorageUnavailable("storage failed; retry later", str(_driver_error(error)))


@contextmanager
def as_storage_unavailable() -> Iterator[None]:
    """STORAGE_ERRORS leaving the block become the domain's StorageUnavailable."""
    try:
        yield
    except STORAGE_ERRORS as error:
        raise storage_unavailable(error) from error


def not_writable_error() -> OperationalError:
    """The error a write gets when this process may no longer write the SQLite file:
    SQLite's own, as SQLAlchemy raises it (so it answers 503 like any other)."""
    driver_error = sqlite3.OperationalError("the database file is read-only for this process")
    driver_error.sqlite_errorcode = sqlite3.SQLITE_READONLY
    driver_error.sqlite_errorname = "SQLITE_READONLY"
    return OperationalError("BEGIN IMMEDIATE", None, driver_error)


def _driver_error(error: BaseException) -> BaseException:
    return error.orig if isinstance(error, DBAPIError) and error.orig is not None else error


def _sqlstate(error: BaseException) -> str | None:
    sqlstate = getattr(error, "sqlstate", None)
    return sqlstate if isinstance(sqlstate, str) else None


def fault_reason(error: BaseException) -> str | None:
    """Short words for a storage fault, None when `error` is not one."""
    driver = _driver_error(error)
    if isinstance(driver, sqlite3.Error):
        code = getattr(driver, "sqlite_errorcode", None)
        if code is None:  # "Cannot operate on a closed database" and the like
            return "connection closed" if isinstance(driver, sqlite3.ProgrammingError) else None
        return _SQLITE_REASONS.get(code & 0xFF)
    sqlstate = _sqlstate(driver)
    if sqlstate is not None:
        for prefix in (sqlstate, sqlstate[:3], sqlstate[:2]):
            if prefix in _POSTGRES_REASONS:
                return _POSTGRES_REASONS[prefix]
        return None
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return "unreachable"  # the driver lost its server (no SQLSTATE: no answer came)
    if isinstance(error, OperationalError):
        return "unreachable"
    return None


def error_code(error: BaseException) -> str:
    """The driver's code for an error that is not a storage fault (SQLITE_ERROR,
    SQLSTATE 42P01), or its type's name: short, and naming no host or path."""
    driver = _driver_error(error)
    if isinstance(driver, sqlite3.Error) and getattr(driver, "sqlite_errorname", None):
        return str(driver.sqlite_errorname)
    if sqlstate := _sqlstate(driver):
        return f"SQLSTATE {sqlstate}"
    return type(driver).__name__


def discards_connection(error: BaseException) -> bool:
    """Whether the connection that raised `error` must be discarded and reopened."""
    driver = _driver_error(error)
    if isinstance(driver, sqlite3.Error):
        code = getattr(driver, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_DISCARD
    # PostgreSQL: a session opened while the database was read-only keeps that
    # default; SQLAlchemy already discards connections the server dropped.
    return _sqlstate(driver) == POSTGRES_READ_ONLY


# How long a real write's failure keeps /healthz degraded when no write has
# succeeded since: a full disk may still take the probe's one page while real
# writes, which need more, fail.
FAILURE_MEMORY_S = 15.0


class WriteOutcomes:
    """The last storage fault of a real write, forgotten when a write succeeds
    or after FAILURE_MEMORY_S. Cheap enough for every commit."""

    def __init__(
        self, memory: float = FAILURE_MEMORY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._memory = memory
        self._clock = clock
        self._lock = threading.Lock()
        self._failure: tuple[float, str] | None = None

    def succeeded(self) -> None:
        if self._failure is not None:  # no lock on the common path
            with self._lock:
                self._failure = None

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failure = (self._clock(), reason)

    def recent_failure(self) -> str | None:
        with self._lock:
            failure = self._failure
        if failure is None or self._clock() - failure[0] > self._memory:
            return None
        return failure[1]
