"""Clocks a test moves by hand, for what waits on time (backoff, windows, leases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Stands still at `now` until the test sets it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class AheadClock:
    """Real time, moved forward by the test (`ahead`) to make a retry due."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead
