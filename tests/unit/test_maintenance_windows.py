"""Maintenance windows on the wall clock: daylight saving, midnight, day numbers, scope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetward.domain.errors import InvalidInput
from fleetward.domain.maintenance import (
    DAY_NAMES,
    MaintenanceWindow,
    WeeklyRecurrence,
    parse_hhmm,
    zone,
)

TENANT = uuid.uuid4()
SUNDAY = 0


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(
    zone_name: str, year: int, month: int, day: int, hour: int, minute: int, fold: int = 0
) -> datetime:
    """A wall-clock time in a zone, as the UTC instant a sender would report."""
    wall = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone_name), fold=fold)
    return wall.astimezone(UTC)


def weekly(
    days: set[int], start: str, end: str, tz: str, **bounds: datetime | None
) -> MaintenanceWindow:
    recurrence = WeeklyRecurrence(
        frozenset(days), parse_hhmm(start, "start"), parse_hhmm(end, "end"), tz
    )
    return window(recurrence=recurrence, **bounds)


def window(**fields: object) -> MaintenanceWindow:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "tenant_id": TENANT,
        "name": "Patch night",
        "integration_id": None,
        "client_id": None,
        "asset_id": None,
        "starts_at": None,
        "ends_at": None,
        "recurrence": None,
    }
    values.update(fields)
    return MaintenanceWindow(**values)  # type: ignore[arg-type]


# A Sunday window 01:30-03:30 local, on each side of each 2026 change. Berlin springs
# forward at 02:00 CET (01:00 UTC) on 29 March and falls back at 03:00 CEST (01:00 UTC)
# on 25 October; New York at 02:00 EST (07:00 UTC) on 8 March and 02:00 EDT (06:00 UTC)
# on 1 November.
DST_CASES = [
    # Berlin, spring forward: 02:00-03:00 does not exist, the window runs 01:30 CET-03:30 CEST.
    ("Europe/Berlin", utc(2026, 3, 29, 0, 29), False),  # 01:29 CET
    ("Europe/Berlin", utc(2026, 3, 29, 0, 30), True),  # 01:30 CET
    ("Europe/Berlin", utc(2026, 3, 29, 0, 59, 59), True),  # 01:59:59 CET, just before the jump
    ("Europe/Berlin", utc(2026, 3, 29, 1, 0), True),  # 03:00 CEST, just after it
    ("Europe/Berlin", utc(2026, 3, 29, 1, 29), True),  # 03:29 CEST
    ("Europe/Berlin", utc(2026, 3, 29, 1, 30), False),  # 03:30 CEST: end is exclusive
    # Berlin, fall back: 02:00-03:00 happens twice, and both times are inside.
    ("Europe/Berlin", utc(2026, 10, 24, 23, 29), False),  # 01:29 CEST
    ("Europe/Berlin", utc(2026, 10, 24, 23, 30), True),  # 01:30 CEST
    ("Europe/Berlin", utc(2026, 10, 25, 0, 30), True),  # 02:30 CEST, the first time
    ("Europe/Berlin", utc(2026, 10, 25, 1, 30), True),  # 02:30 CET, the second time
    ("Europe/Berlin", utc(2026, 10, 25, 2, 29), True),  # 03:29 CET
    ("Europe/Berlin", utc(2026, 10, 25, 2, 30), False),  # 03:30 CET
    # New York, spring forward: 02:00-03:00 does not exist.
    ("America/New_York", utc(2026, 3, 8, 6, 29), False),  # 01:29 EST
    ("America/New_York", utc(2026, 3, 8, 6, 30), True),  # 01:30 EST
    ("America/New_York", utc(2026, 3, 8, 7, 0), True),  # 03:00 EDT
    ("America/New_York", utc(2026, 3, 8, 7, 30), False),  # 03:30 EDT
    # New York, fall back: 01:00-02:00 happens twice; both 01:30s are inside.
    ("America/New_York", utc(2026, 11, 1, 5, 29), False),  # 01:29 EDT
    ("America/New_York", utc(2026, 11, 1, 5, 30), True),  # 01:30 EDT
    ("America/New_York", utc(2026, 11, 1, 6, 15), False),  # 01:15 EST: the clock went back
    ("America/New_York", utc(2026, 11, 1, 6, 30), True),  # 01:30 EST
    ("America/New_York", utc(2026, 11, 1, 8, 29), True),  # 03:29 EST
    ("America/New_York", utc(2026, 11, 1, 8, 30), False),  # 03:30 EST
]


@pytest.mark.parametrize(("tz", "at", "covered"), DST_CASES, ids=lambda v: str(v))
def test_weekly_window_follows_the_wall_clock_across_daylight_saving(
    tz: str, at: datetime, covered: bool
) -> None:
    assert weekly({SUNDAY}, "01:30", "03:30", tz).active_at(at) is covered


def test_both_instants_of_a_repeated_wall_clock_time_are_covered() -> None:
    first = local("America/New_York", 2026, 11, 1, 1, 30, fold=0)
    second = local("America/New_York", 2026, 11, 1, 1, 30, fold=1)
    assert second - first == timedelta(hours=1)
    w = weekly({SUNDAY}, "01:30", "03:30", "America/New_York")
    assert w.active_at(first) and w.active_at(second)


@pytest.mark.parametrize(
    ("tz", "day", "minutes"),
    [
        ("Europe/Berlin", (2026, 3, 29), 60),  # an hour skipped: 2 h of wall clock, 1 h real
        ("Europe/Berlin", (2026, 10, 25), 180),  # an hour repeated: 3 h real
        ("Europe/Berlin", (2026, 4, 5), 120),  # an ordinary Sunday
        ("America/New_York", (2026, 3, 8), 60),
        # 01:30 EDT-02:00 EDT, then the clock reads 01:00 again: in from 01:30 EST to 03:30.
        ("America/New_York", (2026, 11, 1), 30 + 120),
        ("America/New_York", (2026, 11, 8), 120),
    ],
)
def test_real_time_covered_on_change_days(tz: str, day: tuple[int, int, int], minutes: int) -> None:
    w = weekly({SUNDAY}, "01:30", "03:30", tz)
    start = utc(*day) - timedelta(hours=12)
    covered = sum(w.active_at(start + timedelta(minutes=m)) for m in range(48 * 60))
    assert covered == minutes


# 1 May 2026 is a Friday.
FRIDAY = 5


@pytest.mark.parametrize(
    ("at", "covered"),
    [
        ((2026, 5, 1, 21, 59), False),  # Friday, before the start
        ((2026, 5, 1, 22, 0), True),  # Friday 22:00
        ((2026, 5, 1, 23, 59), True),
        ((2026, 5, 2, 0, 0), True),  # past midnight, now Saturday
        ((2026, 5, 2, 1, 0), True),  # Saturday 01:00
        ((2026, 5, 2, 2, 0), False),  # Saturday 02:00: the end
        ((2026, 5, 2, 22, 30), False),  # Saturday night is not listed
        ((2026, 5, 3, 1, 0), False),  # Sunday 01:00 follows a Saturday, not a Friday
        ((2026, 5, 1, 1, 0), False),  # Friday 01:00 would follow a Thursday
    ],
)
def test_a_window_crossing_midnight_runs_into_the_next_day_only(
    at: tuple[int, ...], covered: bool
) -> None:
    w = weekly({FRIDAY}, "22:00", "02:00", "Europe/Berlin")
    assert w.active_at(local("Europe/Berlin", *at)) is covered


def test_days_count_from_sunday_as_zero() -> None:
    assert DAY_NAMES[0] == "Sunday" and DAY_NAMES[6] == "Saturday"
    sunday_noon = local("Asia/Tokyo", 2026, 5, 3, 12, 0)
    monday_noon = local("Asia/Tokyo", 2026, 5, 4, 12, 0)
    saturday_noon = local("Asia/Tokyo", 2026, 5, 2, 12, 0)
    for days, expected in (
        ({0}, (True, False, False)),
        ({1}, (False, True, False)),
        ({6}, (False, False, True)),
    ):
        w = weekly(days, "00:00", "23:59", "Asia/Tokyo")
        got = tuple(w.active_at(t) for t in (sunday_noon, monday_noon, saturday_noon))
        assert got == expected, days


def test_the_day_is_the_local_day_not_the_utc_day() -> None:
    # Sunday 08:00 in Auckland is still Saturday in UTC.
    at = local("Pacific/Auckland", 2026, 5, 3, 8, 0)
    assert at.weekday() == 5  # Saturday in UTC
    assert weekly({SUNDAY}, "07:00", "09:00", "Pacific/Auckland").active_at(at)
    assert not weekly({6}, "07:00", "09:00", "Pacific/Auckland").active_at(at)


def test_one_off_window_is_half_open() -> None:
    w = window(starts_at=utc(2026, 6, 1, 10, 0), ends_at=utc(2026, 6, 1, 12, 0))
    tick = timedelta(microseconds=1)
    assert not w.active_at(utc(2026, 6, 1, 10, 0) - tick)
    assert w.active_at(utc(2026, 6, 1, 10, 0))
    assert w.active_at(utc(2026, 6, 1, 12, 0) - tick)
    assert not w.active_at(utc(2026, 6, 1, 12, 0))
    # The same instants written with an offset.
    berlin = ZoneInfo("Europe/Berlin")
    assert w.active_at(datetime(2026, 6, 1, 12, 0, tzinfo=berlin))  # 10:00 UTC
    assert not w.active_at(datetime(2026, 6, 1, 14, 0, tzinfo=berlin))  # 12:00 UTC


def test_bounds_limit_a_weekly_window_to_the_weeks_between_them() -> None:
    w = weekly(
        {SUNDAY}, "01:00", "05:00", "UTC", starts_at=utc(2026, 5, 1), ends_at=utc(2026, 5, 15)
    )
    assert not w.active_at(utc(2026, 4, 26, 2))  # a Sunday before starts_at
    assert w.active_at(utc(2026, 5, 3, 2))
    assert w.active_at(utc(2026, 5, 10, 2))
    assert not w.active_at(utc(2026, 5, 17, 2))  # a Sunday after ends_at


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "starts_at"),
        ({"starts_at": utc(2026, 6, 1)}, "starts_at"),
        ({"starts_at": utc(2026, 6, 1), "ends_at": utc(2026, 6, 1)}, "ends_at"),
        ({"starts_at": utc(2026, 6, 2), "ends_at": utc(2026, 6, 1)}, "ends_at"),
    ],
)
def test_a_one_off_window_needs_an_end_after_its_start(
    fields: dict[str, datetime], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        window(**fields)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("days", "start", "end", "tz", "field"),
    [
        (set(), "01:00", "02:00", "UTC", "recurrence.days"),
        ({7}, "01:00", "02:00", "UTC", "recurrence.days"),
        ({-1}, "01:00", "02:00", "UTC", "recurrence.days"),
        ({1}, "01:00", "01:00", "UTC", "recurrence.end_time"),
        ({1}, "01:00", "02:00", "Mars/Olympus_Mons", "recurrence.timezone"),
        ({1}, "01:00", "02:00", "Europe", "recurrence.timezone"),  # a folder of the database
        ({1}, "01:00", "02:00", "zone.tab", "recurrence.timezone"),  # a file that is no zone
        ({1}, "01:00", "02:00", "../../etc/passwd", "recurrence.timezone"),
        ({1}, "01:00", "02:00", "A" * 300, "recurrence.timezone"),
        ({1}, "01:00", "02:00", " Europe/Berlin", "recurrence.timezone"),
    ],
)
def test_bad_recurrences_are_refused_naming_the_field(
    days: set[int], start: str, end: str, tz: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        WeeklyRecurrence(frozenset(days), parse_hhmm(start, "s"), parse_hhmm(end, "e"), tz)
    assert caught.value.field == field


@pytest.mark.parametrize("text", ["24:00", "12:60", "1:00", "0100", "ab:cd", ""])
def test_times_of_day_are_hh_mm(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_hhmm(text, "recurrence.start_time")
    assert caught.value.field == "recurrence.start_time"


def test_zone_accepts_iana_names() -> None:
    assert zone("America/Argentina/Buenos_Aires").key == "America/Argentina/Buenos_Aires"
    assert parse_hhmm("23:59", "f") == time(23, 59)


def test_the_calendars_last_instant_is_not_an_error() -> None:
    # 9999-12-31 23:00 UTC has no local time in UTC+14: not covered, and no crash.
    w = weekly(set(range(7)), "00:00", "23:59", "Pacific/Kiritimati")
    assert w.active_at(datetime.max.replace(tzinfo=UTC)) is False


INTEGRATION, CLIENT, ASSET = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
OTHER = uuid.uuid4()


@pytest.mark.parametrize(
    ("scope", "alert", "applies"),
    [
        ({}, (INTEGRATION, CLIENT, ASSET), True),  # no scope: everything
        ({}, (INTEGRATION, None, None), True),
        ({"client_id": CLIENT}, (INTEGRATION, CLIENT, ASSET), True),
        ({"client_id": CLIENT}, (INTEGRATION, OTHER, ASSET), False),
        ({"client_id": CLIENT}, (INTEGRATION, None, ASSET), False),
        ({"integration_id": INTEGRATION}, (INTEGRATION, OTHER, None), True),
        ({"integration_id": INTEGRATION}, (OTHER, CLIENT, ASSET), False),
        ({"asset_id": ASSET}, (INTEGRATION, CLIENT, ASSET), True),
        ({"asset_id": ASSET}, (INTEGRATION, CLIENT, OTHER), False),
        ({"integration_id": INTEGRATION, "client_id": CLIENT}, (INTEGRATION, CLIENT, None), True),
        # Every scope given must match, not just one of them.
        ({"integration_id": INTEGRATION, "client_id": CLIENT}, (INTEGRATION, OTHER, None), False),
        ({"integration_id": INTEGRATION, "client_id": CLIENT}, (OTHER, CLIENT, None), False),
        (
            {"integration_id": INTEGRATION, "client_id": CLIENT, "asset_id": ASSET},
            (INTEGRATION, CLIENT, ASSET),
            True,
        ),
    ],
)
def test_scope_null_is_any_and_every_named_scope_must_match(
    scope: dict[str, uuid.UUID],
    alert: tuple[uuid.UUID, uuid.UUID | None, uuid.UUID | None],
    applies: bool,
) -> None:
    w = window(starts_at=utc(2026, 1, 1), ends_at=utc(2027, 1, 1), **scope)
    assert w.applies_to(*alert) is applies


ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # daylight saving of 30 minutes
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",  # changes at midnight
]


@settings(max_examples=300, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
)
def test_every_day_all_day_covers_everything_but_each_local_days_last_minute(
    tz: str, at: datetime
) -> None:
    w = weekly(set(range(7)), "00:00", "23:59", tz)
    wall = at.astimezone(ZoneInfo(tz))
    assert w.active_at(at) is not (wall.hour == 23 and wall.minute == 59)


def test_the_end_of_the_occurrence_covering_an_instant() -> None:
    """What End now and Extend of a weekly window count from (services/maintenance.py)."""
    # Saturday 22:00 to 06:00 in Berlin, which leaves summer time that night (27 Oct 2024).
    night = WeeklyRecurrence(frozenset({6}), time(22, 0), time(6, 0), "Europe/Berlin")
    saturday_23h = utc(2024, 10, 26, 21)  # 23:00 CEST
    assert night.occurrence_end(saturday_23h) == utc(2024, 10, 27, 5)  # 06:00 CET
    sunday_3h = utc(2024, 10, 27, 2)  # 03:00 CET, past the change, yesterday's occurrence
    assert night.occurrence_end(sunday_3h) == utc(2024, 10, 27, 5)
    assert night.occurrence_end(utc(2024, 10, 27, 6)) is None  # 07:00: over
    day = WeeklyRecurrence(frozenset({SUNDAY}), time(2, 0), time(4, 0), "UTC")
    assert day.occurrence_end(utc(2024, 10, 27, 3, 59)) == utc(2024, 10, 27, 4)
    assert day.occurrence_end(utc(2024, 10, 27, 4)) is None
