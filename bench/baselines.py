"""Baselines: what the machine does with no Fleetward code in the way.

Figures are divided by these, measured in the same run, so a slow or noisy
machine moves both sides of every ratio.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.core import Measurement, RunConfig, baseline, scratch_dir
from bench.loadgen import measure_http, spec_for
from bench.servers import running_server

# The pragmas Fleetward's SQLite engine sets on every connection (adapters/storage/database.py).
PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON")
SCHEMA = """
CREATE TABLE obs_event (
    id INTEGER PRIMARY KEY,
    pc_id TEXT NOT NULL,
    source TEXT NOT NULL,
    event_record_id TEXT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT
);
CREATE UNIQUE INDEX uq_obs_event_record ON obs_event (pc_id, source, event_record_id);
"""
INSERT = (
    "INSERT INTO obs_event (pc_id, source, event_record_id, at, kind, payload)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
INSERT_OR_IGNORE = INSERT.replace("INSERT INTO", "INSERT OR IGNORE INTO")

Row = tuple[str, str, str, str, str, str]


def timeline_rows(count: int) -> list[Row]:
    """Rows shaped like an agent's timeline batch: a few machines, a few sources."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    sources = ("winlog:Security", "winlog:System", "journald:systemd-logind")
    kinds = ("logon", "logoff", "boot", "shutdown")
    rows: list[Row] = []
    for i in range(count):
        payload = {"user": f"user{i % 97}", "domain": "CORP", "logon_type": 2, "logon_id": hex(i)}
        rows.append(
            (
                f"pc-{i % 50:04d}",
                sources[i % len(sources)],
                str(1_000_000 + i),
                (start + timedelta(seconds=i)).isoformat(),
                kinds[i % len(kinds)],
                json.dumps(payload, separators=(",", ":")),
            )
        )
    return rows


def open_database(path: Path) -> sqlite3.Connection:
    # Autocommit mode: transactions are the explicit BEGIN/COMMIT below, one per batch.
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    return conn


def insert_batches(conn: sqlite3.Connection, sql: str, rows: Sequence[Row], batch: int) -> float:
    """Insert `rows` in transactions of `batch` rows; answer the seconds it took."""
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        conn.execute("BEGIN")
        conn.executemany(sql, rows[i : i + batch])
        conn.execute("COMMIT")
    return time.perf_counter() - started


def _sqlite_detail(cfg: RunConfig, seconds: float) -> dict[str, object]:
    return {"rows": cfg.sqlite_rows, "batch": cfg.batch_size, "seconds": round(seconds, 3)}


@baseline("raw_sqlite_insert", unit="rows/s")
def raw_sqlite_insert(cfg: RunConfig) -> Measurement:
    """stdlib sqlite3, WAL, executemany in transactions of 1,000 rows, unique index."""
    rows = timeline_rows(cfg.sqlite_rows)
    with scratch_dir("sqlite") as tmp:
        conn = open_database(tmp / "raw.db")
        try:
            conn.executescript(SCHEMA)
            seconds = insert_batches(conn, INSERT, rows, cfg.batch_size)
            (stored,) = conn.execute("SELECT count(*) FROM obs_event").fetchone()
        finally:
            conn.close()
    if stored != len(rows):
        raise AssertionError(f"stored {stored} rows of {len(rows)}")
    return Measurement(len(rows) / seconds, _sqlite_detail(cfg, seconds))


@baseline("raw_sqlite_duplicate_insert", unit="rows/s")
def raw_sqlite_duplicate_insert(cfg: RunConfig) -> Measurement:
    """The same batches again with INSERT OR IGNORE: every row is a duplicate."""
    rows = timeline_rows(cfg.sqlite_rows)
    with scratch_dir("sqlite") as tmp:
        conn = open_database(tmp / "raw.db")
        try:
            conn.executescript(SCHEMA)
            insert_batches(conn, INSERT, rows, cfg.batch_size)  # setup, not measured
            seconds = insert_batches(conn, INSERT_OR_IGNORE, rows, cfg.batch_size)
            (stored,) = conn.execute("SELECT count(*) FROM obs_event").fetchone()
        finally:
            conn.close()
    if stored != len(rows):
        raise AssertionError(f"duplicates were stored: {stored} rows for {len(rows)}")
    return Measurement(len(rows) / seconds, _sqlite_detail(cfg, seconds))


@baseline("trivial_http", unit="req/s")
def trivial_http(cfg: RunConfig) -> Measurement:
    """GET of a one-line async FastAPI endpoint under uvicorn, keep-alive connections."""
    with running_server("bench.trivial_server") as server:
        result = measure_http(spec_for(cfg, server, "/"))
    return result.measurement(server=server.describe())


@baseline("trivial_http_sequential", unit="req/s")
def trivial_http_sequential(cfg: RunConfig) -> Measurement:
    """trivial_http over one connection: each request sent once the last is answered."""
    with running_server("bench.trivial_server") as server:
        result = measure_http(spec_for(cfg, server, "/", concurrency=1))
    return result.measurement(server=server.describe(), concurrency=1)
