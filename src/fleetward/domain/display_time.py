"""Times as a person reads them: on their own clock, and how long ago.

Every time is stored in UTC; the dashboard shows it in the person's time zone
(their profile's, else their browser's, else UTC) with a relative time beside
it on lists, so "4 min ago" needs no arithmetic from someone mid-shift.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from fleetward.domain.errors import InvalidInput
from fleetward.domain.maintenance import zone

MAX_ZONE_NAME = 64  # the column's size; the longest IANA name has 32 characters


def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The IANA zone `name` names, or None for an empty, unknown or overlong name."""
    if not name or len(name) > MAX_ZONE_NAME:
        return None
    try:
        return zone(name)
    except InvalidInput:
        return None


@functools.cache
def known_zones() -> tuple[str, ...]:
    """Every IANA zone name the system's database has, sorted: what a person may choose
    for their profile (read once; the list does not change while the server runs)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def wall_clock(value: datetime, zone: tzinfo, seconds: bool = False) -> str:
    """`2026-12-07 14:05 CET`: minutes are what a shift works in; event records, which
    can come several a second, show seconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone)
    shown = "%Y-%m-%d %H:%M:%S " if seconds else "%Y-%m-%d %H:%M "
    return local.strftime(shown) + (local.tzname() or "UTC")


def relative(value: datetime, now: datetime) -> str:
    """`just now`, `4 min ago`, `3 h ago`, `2 d ago`, or `in 5 min` for a future time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int((now - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    size, unit = next(
        (size, unit)
        for size, unit in ((86400 * 365, "y"), (86400, "d"), (3600, "h"), (60, "min"))
        if seconds >= size
    )
    amount = f"{seconds // size} {unit}"
    return f"in {amount}" if future else f"{amount} ago"
