"""WAL checkpoints on a thread of their own, off the writers' path.

In WAL mode every commit appends the pages it changed to the -wal file, and
a checkpoint copies them back into the database file. SQLite's default is
that the commit which takes the WAL past 1,000 pages runs the checkpoint
itself, inside the request that happened to commit: on the webhook route that
was every fiftieth trigger waiting some milliseconds, a tenth of the route's
time on average.

Here a thread with a connection of its own runs a PASSIVE checkpoint (which
never blocks readers or writers) shortly after writes commit. Its SQLite work
runs without the GIL, on the core the writer is not using. The writers keep
SQLite's automatic checkpoint only as a backstop, at BACKSTOP_FRAMES: should
this thread fall behind, or a burst keep it from ever catching up, a commit
checkpoints what is left and the WAL starts over, so the file stays bounded.
"""

from __future__ import annotations

import sqlite3
import threading

import structlog

log = structlog.get_logger("fleetward.storage")

# The writers' own automatic checkpoint, in pages (16 MiB of WAL at 4 KiB).
BACKSTOP_FRAMES = 4000
# How long the thread rests after a checkpoint: commits meanwhile share the next one.
PAUSE_SECONDS = 0.05


class WalCheckpointer:
    """Checkpoints one SQLite database file soon after `nudge()`, on its own thread.

    The thread starts on the first nudge (nothing runs for a process that
    never writes) and ends with `close()`.
    """

    def __init__(self, path: str, pause: float = PAUSE_SECONDS) -> None:
        self._path = path
        self._pause = pause
        self._wanted = threading.Event()
        self._closing = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # completed runs, for tests and diagnostics
        self.failures = 0  # runs that failed (each on a connection then discarded)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def nudge(self) -> None:
        """A write committed: checkpoint soon. Cheap enough for every commit."""
        if self._wanted.is_set():  # already asked for: no lock, no wake-up
            return
        self._wanted.set()
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._closing.is_set():
                return
            self._thread = threading.Thread(
                target=self._run, name="fleetward-checkpoint", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the thread (a checkpoint under way finishes first)."""
        with self._start_lock:
            self._closing.set()
            self._wanted.set()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wanted.wait()
                if self._closing.is_set():
                    return
                self._wanted.clear()
                if conn is None:
                    conn = self._connect()
                if conn is not None and not self._checkpoint(conn):
                    # A connection that failed is not trusted again: one opened while
                    # the file was read-only, say, would stay so. The next nudge
                    # opens a fresh one.
                    conn.close()
                    conn = None
                if self._closing.wait(self._pause):
                    return
        finally:
            if conn is not None:
                conn.close()

    def _connect(self) -> sqlite3.Connection | None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            log.warning("wal_checkpoint_failed", error=str(error))
            self.failures += 1
            return None
        # A checkpoint syncs the WAL and the database file, as the writers' would.
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _checkpoint(self, conn: sqlite3.Connection) -> bool:
        """One PASSIVE checkpoint; whether it ran."""
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as error:
            # Never fatal: the writers' backstop checkpoints if this one cannot.
            log.warning("wal_checkpoint_failed", error=str(error))
            self.failures += 1
            return False
        self.checkpoints += 1
        return True
