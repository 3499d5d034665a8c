"""The login limit's counters: one conditional upsert per attempt, on both engines.

One statement both decides and counts, so two concurrent logins cannot both see
the last free attempt. PostgreSQL (READ COMMITTED) makes a second upsert of the
same row wait for the first to commit and then re-checks the WHERE against the
row as committed; SQLite has one writer at a time. The same statement therefore
gives the same answers on both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from fleetward.adapters.storage import schema

_T = schema.login_throttle


def _take_statement(
    dialect: str, subject: str, limit: int, now: datetime, expired: datetime
) -> Any:
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    window_over = _T.c.window_start <= expired
    return (
        build(_T)
        .values(subject=subject, window_start=now, attempts=1)
        .on_conflict_do_update(
            index_elements=[_T.c.subject],
            # Both right-hand sides see the row as it was before this update.
            set_={
                "attempts": case((window_over, 1), else_=_T.c.attempts + 1),
                "window_start": case(
                    (window_over, literal(now, schema.UTCDateTime())), else_=_T.c.window_start
                ),
            },
            # At the limit the row is left alone and RETURNING gives nothing.
            where=or_(window_over, _T.c.attempts < limit),
        )
        .returning(_T.c.window_start)
    )


class LoginThrottleRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def take(self, subject: str, limit: int, now: datetime, expired: datetime) -> datetime | None:
        statement = _take_statement(self.conn.dialect.name, subject, limit, now, expired)
        window_start: datetime | None = self.conn.execute(statement).scalar_one_or_none()
        return window_start

    def give_back(self, subject: str, window_start: datetime) -> None:
        self.conn.execute(
            update(_T)
            .where(_T.c.subject == subject, _T.c.window_start == window_start, _T.c.attempts > 0)
            .values(attempts=_T.c.attempts - 1)
        )

    def forget_expired(self, expired: datetime, at_most: int) -> None:
        # SKIP LOCKED: a counter a login is updating is left for a later pass, so this
        # never waits while holding rows a login waits for (no deadlock). SQLite, one
        # writer at a time, renders no FOR UPDATE.
        doomed = (
            select(_T.c.subject)
            .where(_T.c.window_start <= expired)
            .order_by(_T.c.window_start)
            .limit(at_most)
            .with_for_update(skip_locked=True)
        )
        self.conn.execute(delete(_T).where(_T.c.subject.in_(doomed)))
