"""WAL checkpoints on their own thread: commits reach the database file without a
writer paying for it, and the WAL stays bounded even when that thread is gone."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from fleetward.adapters.storage.checkpoint import BACKSTOP_FRAMES, WalCheckpointer
from fleetward.adapters.storage.database import Database

PAGE = 4096


def rows_in_main_file(path: Path, scratch: Path) -> int:
    """Rows of `item` in the database file alone, as if its WAL were lost."""
    copy = scratch / "main-only.db"
    shutil.copyfile(path, copy)
    conn = sqlite3.connect(copy)
    try:
        found = conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'item'").fetchone()[0]
        return int(conn.execute("SELECT count(*) FROM item").fetchone()[0]) if found else 0
    finally:
        conn.close()
        copy.unlink()


def test_commits_reach_the_database_file_without_a_writer_checkpointing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wal.db"
    db = Database(f"sqlite:///{path}")
    checkpointer = db._checkpointer
    assert checkpointer is not None
    try:
        with db.write() as conn:
            conn.exec_driver_sql("CREATE TABLE item (n INTEGER PRIMARY KEY, body TEXT)")
        for n in range(20):  # a few dozen pages: far below the writers' own threshold
            with db.write() as conn:
                conn.exec_driver_sql("INSERT INTO item VALUES (?, ?)", (n, "x" * 500))
        deadline = time.monotonic() + 10
        while rows_in_main_file(path, tmp_path) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rows_in_main_file(path, tmp_path) == 20
        assert checkpointer.running
    finally:
        db.dispose()
    assert not checkpointer.running  # dispose() stopped it


def test_writers_keep_the_wal_bounded_when_the_thread_cannot_run(tmp_path: Path) -> None:
    path = tmp_path / "backstop.db"
    db = Database(f"sqlite:///{path}")
    db._checkpointer.close()  # type: ignore[union-attr]  # as if the thread had died
    try:
        with db.write() as conn:
            conn.exec_driver_sql("CREATE TABLE item (n INTEGER PRIMARY KEY, body BLOB)")
        blob = b"\0" * (16 * PAGE)
        written = 0
        while written < 2 * BACKSTOP_FRAMES * PAGE:  # twice the backstop's worth of pages
            with db.write() as conn:
                conn.exec_driver_sql("INSERT INTO item (body) VALUES (?)", (blob,))
            written += len(blob)
        wal = Path(f"{path}-wal").stat().st_size
        # The WAL starts over once a writer has checkpointed it: never much past the backstop.
        assert wal <= (BACKSTOP_FRAMES + 64) * (PAGE + 24) + 32
        assert rows_in_main_file(path, tmp_path) > 0
    finally:
        db.dispose()


def test_a_nudge_after_close_starts_nothing(tmp_path: Path) -> None:
    checkpointer = WalCheckpointer(str(tmp_path / "none.db"))
    checkpointer.close()
    checkpointer.nudge()
    assert checkpointer.checkpoints == 0
    assert not checkpointer.running


def test_a_connection_that_failed_is_reopened_and_checkpoints_resume(tmp_path: Path) -> None:
    """The thread keeps going after a failure, on a fresh connection: here the path
    cannot be opened at first (a directory stands there), then holds a database."""
    path = tmp_path / "later.db"
    path.mkdir()
    checkpointer = WalCheckpointer(str(path), pause=0.01)
    try:
        checkpointer.nudge()
        deadline = time.monotonic() + 10
        while checkpointer.failures == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.failures == 1
        path.rmdir()
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("CREATE TABLE item (n INTEGER PRIMARY KEY)")
        checkpointer.nudge()
        deadline = time.monotonic() + 10
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.checkpoints == 1
        writer.close()
    finally:
        checkpointer.close()
