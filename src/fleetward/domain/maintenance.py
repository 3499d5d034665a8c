"""Maintenance windows: one-off or weekly, in the window's own time zone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fleetward.domain.errors import InvalidInput

# 0 = Sunday, as Tactical RMM, cron and most people count.
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def zone(name: str, field: str = "recurrence.timezone") -> ZoneInfo:
    """The IANA zone, or InvalidInput naming the field."""
    try:
        if not name or name != name.strip() or ".." in name or name.startswith("/"):
            raise ValueError
        return ZoneInfo(name)
    # OSError: a key naming a directory of the zone database ("Europe") or far too long.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            f"{field}: unknown time zone {name!r}: use an IANA name such as Europe/Berlin",
            field=field,
        ) from None


def parse_hhmm(value: str, field: str) -> time:
    try:
        hours, minutes = value.split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(
            f"{field}: {value!r} is not a time of day as HH:MM", field=field
        ) from None


@dataclass(frozen=True, slots=True)
class WeeklyRecurrence:
    days: frozenset[int]
    start: time
    end: time  # end <= start means the window runs past midnight into the next day
    timezone: str

    def __post_init__(self) -> None:
        if not self.days or any(d not in range(7) for d in self.days):
            raise InvalidInput(
                "recurrence.days must be a non-empty list of 0 (Sunday) to 6",
                field="recurrence.days",
            )
        if self.start == self.end:
            raise InvalidInput(
                "recurrence.end_time must differ from start_time", field="recurrence.end_time"
            )
        zone(self.timezone)

    def covers(self, at: datetime) -> bool:
        """Whether the UTC instant `at` falls inside a weekly occurrence.

        Compared on the local wall clock, so 02:00-04:00 means 02:00-04:00
        on both sides of a daylight-saving change.
        """
        try:
            local = at.astimezone(zone(self.timezone))
        except OverflowError:  # the calendar's first or last hours: no local time exists
            return False
        day = (local.weekday() + 1) % 7  # Python's Monday=0 to Sunday=0
        clock = local.time().replace(tzinfo=None, fold=0)
        if self.start < self.end:
            return day in self.days and self.start <= clock < self.end
        yesterday = (day - 1) % 7
        return (day in self.days and clock >= self.start) or (
            yesterday in self.days and clock < self.end
        )

    def occurrence_end(self, at: datetime) -> datetime | None:
        """The UTC end of the occurrence covering the UTC instant `at` (None: none does)."""
        if not self.covers(at):
            return None
        tz = zone(self.timezone)
        local = at.astimezone(tz)
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)  # an overnight occurrence that began today
        return datetime.combine(day, self.end, tzinfo=tz).astimezone(UTC)

    def document(self) -> dict[str, Any]:
        """As JSON values: how it is stored, shown by the API and recorded in the audit log."""
        return {
            "type": "weekly",
            "days": sorted(self.days),
            "start_time": self.start.strftime("%H:%M"),
            "end_time": self.end.strftime("%H:%M"),
            "timezone": self.timezone,
        }


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    integration_id: uuid.UUID | None
    client_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    starts_at: datetime | None
    ends_at: datetime | None
    recurrence: WeeklyRecurrence | None

    def __post_init__(self) -> None:
        if self.recurrence is None:
            if self.starts_at is None or self.ends_at is None:
                raise InvalidInput(
                    "a window needs starts_at and ends_at, or a weekly recurrence",
                    field="starts_at",
                )
            if self.ends_at <= self.starts_at:
                raise InvalidInput("ends_at must be after starts_at", field="ends_at")

    def applies_to(
        self, integration_id: uuid.UUID, client_id: uuid.UUID | None, asset_id: uuid.UUID | None
    ) -> bool:
        """Every scope the window names must match; an unnamed scope matches anything."""
        return (
            (self.integration_id is None or self.integration_id == integration_id)
            and (self.client_id is None or self.client_id == client_id)
            and (self.asset_id is None or self.asset_id == asset_id)
        )

    def active_at(self, at: datetime) -> bool:
        if self.recurrence is not None:
            in_bounds = (self.starts_at is None or at >= self.starts_at) and (
                self.ends_at is None or at < self.ends_at
            )
            return in_bounds and self.recurrence.covers(at)
        assert self.starts_at is not None and self.ends_at is not None
        return self.starts_at <= at < self.ends_at
