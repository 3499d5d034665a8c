"""Hot statements on SQLite, run on the driver instead of through SQLAlchemy's execution.

SQLAlchemy Core spends some 20 us setting up each execution (an execution
context, events, result metadata); pysqlite runs a small indexed statement
in a few. A webhook trigger runs about ten statements, so those the pipeline
runs every time go through here: on SQLite each is compiled once per set of
parameter names, its parameters are bound by the column types' own bind
processors and its rows read back by their result processors (the values
SQLAlchemy would give), and it runs on the driver connection of the same
transaction. Driver errors are wrapped as SQLAlchemy's (IntegrityError stays
an IntegrityError), so callers handle them as before.

On PostgreSQL, or for a statement this cannot take (Python-side column
defaults to compute, expanding IN lists), the same statement goes through
SQLAlchemy as usual. test_hot_sql compares the driver path with SQLAlchemy's
on SQLite, and checks on both engines the values a webhook trigger stored.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.selectable import SelectBase
from sqlalchemy.types import TypeEngine

from fleetward.adapters.storage.schema import UTCDateTime

Processor = Callable[[Any], Any] | None

# Statements built once and reused: SQLAlchemy then skips building the
# statement and computing its cache key on every call, most of a query's cost.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def cached_statement(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS.setdefault(key, build())
    return statement


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    # The parameters in the order of the SQL's placeholders, each with its bind
    # processor (None: the value goes to the driver as it is).
    binds: tuple[tuple[str, Processor], ...]
    fixed: Mapping[str, Any]  # values the statement's own bindparams carry
    columns: tuple[str, ...]  # what a row's values are called (a SELECT's only)
    results: tuple[Processor, ...]


_PREPARED: dict[tuple[Any, ...], _Prepared | None] = {}
_LOCK = threading.Lock()


def fetch_all(
    conn: Connection, key: tuple[Any, ...], build: Callable[[], Any], params: Mapping[str, Any]
) -> list[Mapping[Any, Any]]:
    """The rows of the cached SELECT `key` (built by `build`), as mappings by column name."""
    prepared = _prepared(conn, key, build, params)
    if prepared is None:
        return list(conn.execute(cached_statement(key, build), params).mappings().all())
    return [dict(zip(prepared.columns, row, strict=True)) for row in _run(conn, prepared, params)]


def fetch_scalar(
    conn: Connection, key: tuple[Any, ...], build: Callable[[], Any], params: Mapping[str, Any]
) -> Any:
    """The first column of the first row, None when there is no row."""
    prepared = _prepared(conn, key, build, params)
    if prepared is None:
        return conn.execute(cached_statement(key, build), params).scalar()
    rows = _run(conn, prepared, params)
    return rows[0][0] if rows else None


def execute(
    conn: Connection, key: tuple[Any, ...], build: Callable[[], Any], params: Mapping[str, Any]
) -> int:
    """Run the cached INSERT, UPDATE or DELETE `key`; answer the rows it changed."""
    prepared = _prepared(conn, key, build, params)
    if prepared is None:
        return int(conn.execute(cached_statement(key, build), params).rowcount)
    driver = conn.connection.driver_connection
    values = _values(prepared, params)
    try:
        return int(driver.execute(prepared.sql, values).rowcount)  # type: ignore[union-attr]
    except conn.dialect.loaded_dbapi.Error as error:
        raise _wrapped(conn.dialect, prepared.sql, values, error) from error


def _prepared(
    conn: Connection, key: tuple[Any, ...], build: Callable[[], Any], params: Mapping[str, Any]
) -> _Prepared | None:
    dialect = conn.dialect
    if dialect.name != "sqlite":
        return None
    # An INSERT compiles to the columns it is given: the names are part of the key.
    full_key = (key, tuple(params))
    try:
        return _PREPARED[full_key]
    except KeyError:
        pass
    prepared = _prepare(cached_statement(key, build), dialect, tuple(params))
    with _LOCK:
        return _PREPARED.setdefault(full_key, prepared)


# An instant already written in UTC, as agents send them: "2024-05-01T10:00:00.25Z".
_UTC_TEXT = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(?:Z|\+00:00)")


def sqlite_utc_text(at: datetime, sent: str | None = None) -> str:
    """What UTCDateTime stores on SQLite (naive UTC, SQLAlchemy's DATETIME text format).

    `sent` is the text `at` was read from, when the caller has it: an instant
    already in UTC is rearranged as text, a tenth of the cost of formatting the
    datetime (which is the fallback). test_timeline_api checks both agree with
    UTCDateTime's own processors.
    """
    if sent is not None:
        found = _UTC_TEXT.fullmatch(sent)
        if found is not None:
            day, clock, fraction = found.groups()
            return f"{day} {clock}.{(fraction or '').ljust(6, '0')}"
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(" ", "microseconds")


# The last instant bound and its text. A trigger binds the same `now` (one
# datetime object) to seven columns; the memo holds a reference to it, so an
# identity match can only be that very object.
_last_utc: tuple[datetime, str] | None = None


def _utc_column_text(at: datetime | None) -> str | None:
    """UTCDateTime's bind processor on SQLite, for a third of its cost."""
    global _last_utc
    if at is None:
        return None
    last = _last_utc
    if last is not None and last[0] is at:
        return last[1]
    if at.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")  # as UTCDateTime says
    text = sqlite_utc_text(at)
    _last_utc = (at, text)  # one assignment: threads see either pair whole
    return text


def _processor(type_: TypeEngine[Any], dialect: Dialect, bind: bool) -> Processor:
    if bind and isinstance(type_, UTCDateTime):
        return _utc_column_text
    impl = type_.dialect_impl(dialect)
    return impl.bind_processor(dialect) if bind else impl.result_processor(dialect, None)


def _prepare(statement: Any, dialect: Dialect, keys: tuple[str, ...]) -> _Prepared | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    binds = compiled.binds
    if (
        getattr(compiled, "insert_prefetch", None)
        or getattr(compiled, "update_prefetch", None)
        or any(bind.expanding for bind in binds.values())
    ):
        return None  # values SQLAlchemy computes per execution: leave it to SQLAlchemy
    names = tuple(compiled.positiontup or ())
    columns: tuple[str, ...] = ()
    results: tuple[Processor, ...] = ()
    if isinstance(statement, SelectBase):  # a SELECT, or a UNION of them
        selected = list(statement.selected_columns)
        columns = tuple(column.name for column in selected)
        results = tuple(_processor(column.type, dialect, bind=False) for column in selected)
    return _Prepared(
        sql=compiled.string,
        binds=tuple((name, _processor(binds[name].type, dialect, bind=True)) for name in names),
        fixed={name: binds[name].effective_value for name in names if name not in keys},
        columns=columns,
        results=results,
    )


def _values(prepared: _Prepared, params: Mapping[str, Any]) -> tuple[Any, ...]:
    if prepared.fixed:
        params = {**prepared.fixed, **params}
    # One pass, no zip: this runs for every hot statement.
    return tuple(
        [params[name] if bind is None else bind(params[name]) for name, bind in prepared.binds]
    )


def _run(conn: Connection, prepared: _Prepared, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    driver = conn.connection.driver_connection
    values = _values(prepared, params)
    try:
        rows = driver.execute(prepared.sql, values).fetchall()  # type: ignore[union-attr]
    except conn.dialect.loaded_dbapi.Error as error:
        raise _wrapped(conn.dialect, prepared.sql, values, error) from error
    results = prepared.results
    if not any(results):
        return rows  # type: ignore[no-any-return]
    return [
        tuple(
            value if process is None else process(value)
            for process, value in zip(results, row, strict=True)
        )
        for row in rows
    ]


def _wrapped(dialect: Dialect, sql: str, values: tuple[Any, ...], error: Exception) -> Exception:
    """The driver's error as SQLAlchemy would have raised it (IntegrityError and all)."""
    return DBAPIError.instance(sql, values, error, dialect.loaded_dbapi.Error)
