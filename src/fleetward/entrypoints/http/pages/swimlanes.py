"""The timeline's swimlanes as SVG geometry: rows, bars, time ticks and the now line.

The template draws what this computes, so the browser needs no script: one
inline SVG in a fixed 1000-wide coordinate system that scales with the page.
Times are on the reader's clock, as every other time of the dashboard: ticks fall
on their midnights and round hours, and labels and bar titles read their wall time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fleetward.domain.timeline_lanes import Interval, Lanes, short_labels

WIDTH = 1000
PLOT_LEFT = 170  # the lane labels sit left of this
PLOT_RIGHT = 990
AXIS_HEIGHT = 26
ROW_HEIGHT = 28
BAR_HEIGHT = 16
MIN_BAR = 2.0  # a minute-long session on a month's range must still show
LABEL_MAX = 24  # characters of a user name shown before it is cut
# A tick label this close to the plot's right edge ends at its tick rather than
# centring on it, which would run past the drawing and be cut.
TICK_EDGE = 45

# Tick steps to choose from, the smallest that keeps the axis to about 8 labels.
_STEPS = tuple(
    timedelta(hours=h) for h in (1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720, 1440, 4320, 8760)
)
_MAX_TICKS = 8

UTC_ZONE = ZoneInfo("UTC")

LANE_WORDS = {"power": "Powered on", "sleep": "Asleep", "session": "Logged on"}


@dataclass(frozen=True, slots=True)
class Bar:
    lane: str  # power | sleep | session
    x: float
    width: float
    start: datetime
    end: datetime
    title: str
    open_start: bool
    open_end: bool


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    title: str  # the whole label, where the shown one is cut
    lane: str
    y: float
    bars: list[Bar] = field(default_factory=list)
    empty: str = ""  # shown in the row when it has no bars


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str
    at: datetime  # the instant it marks (aware)
    anchor: str = "middle"  # SVG text-anchor: "end" for the last label at the right edge


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    axis_height: int
    row_height: int
    bar_height: int
    rows: list[Row]
    ticks: list[Tick]
    now_x: float | None  # None when now lies outside the range
    future_x: float | None  # where the part of the range after now begins
    start: datetime
    until: datetime
    zone: str  # the reader's zone the ticks and titles are on, to name in the caption


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _stamp(value: datetime, zone: ZoneInfo) -> str:
    # The abbreviation of the moment itself: a bar across a DST change starts in CET
    # and ends in CEST.
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _title(lane: str, label: str, interval: Interval, zone: ZoneInfo) -> str:
    what = LANE_WORDS[lane] + (f": {label}" if label else "")
    start = _stamp(interval.start, zone)
    start = "before " + start if interval.open_start else start
    end = "now" if interval.open_end else _stamp(interval.end, zone)
    text = f"{what}, {start} → {end} ({_duration(interval.duration)})"
    if interval.open_end:
        text += ", still going"
    if interval.note:
        text += f", {interval.note}"
    return text


def _tick_format(start: datetime, until: datetime, step: timedelta) -> tuple[str, str]:
    """strftime formats for ticks at midnight and for the others.

    The year shows where the range needs it: a range over a year, or one that
    crosses New Year, would otherwise read "20 Dec" at ticks a year apart.
    """
    years = start.year != until.year or until - start > timedelta(days=300)
    if step >= timedelta(days=28):
        return ("%b %Y", "%b %Y") if years else ("%d %b", "%d %b")
    day = "%d %b %Y" if years else "%d %b"
    return (day, day) if step >= timedelta(days=1) else (day, "%H:%M")


def _ticks(
    start: datetime, until: datetime, zone: ZoneInfo, x_of: Callable[[datetime], float]
) -> list[Tick]:
    span = until - start
    step = next((s for s in _STEPS if span / s <= _MAX_TICKS), _STEPS[-1])
    # Counted on the reader's wall clock (naive local times), so ticks fall on their
    # round hours and midnights, whatever the zone's offset from UTC.
    wall_start = start.astimezone(zone).replace(tzinfo=None)
    wall_until = until.astimezone(zone).replace(tzinfo=None)
    at_midnight, other = _tick_format(wall_start, wall_until, step)
    # Aligned to whole steps from the (local) epoch.
    epoch = datetime(1970, 1, 1)
    wall = epoch + -(-(wall_start - epoch) // step) * step
    ticks: list[Tick] = []
    while wall <= wall_until:
        at = wall.replace(tzinfo=zone)
        wall_again = at.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        # A wall time the clocks skip (spring forward) marks no moment; in the hour
        # repeated in autumn the tick marks its first pass.
        if wall_again == wall and start <= at <= until:
            fmt = at_midnight if (wall.hour, wall.minute) == (0, 0) else other
            x = x_of(at)
            anchor = "end" if x > PLOT_RIGHT - TICK_EDGE else "middle"
            ticks.append(Tick(x, wall.strftime(fmt), at, anchor))
        wall += step
    return ticks


def chart(lanes: Lanes, until: datetime, now: datetime, zone: ZoneInfo = UTC_ZONE) -> Chart:
    """The drawing of `lanes` over [lanes.start, until) on `zone`'s clock (the reader's);
    bars already stop at now."""
    start = lanes.start
    total = max((until - start).total_seconds(), 1.0)
    plot = PLOT_RIGHT - PLOT_LEFT

    def x_of(at: datetime) -> float:
        return round(PLOT_LEFT + (at - start).total_seconds() / total * plot, 2)

    def bars(lane: str, label: str, intervals: list[Interval]) -> list[Bar]:
        made = []
        for i in intervals:
            x = x_of(i.start)
            width = max(x_of(i.end) - x, MIN_BAR)
            title = _title(lane, label, i, zone)
            made.append(
                Bar(lane, x, round(width, 2), i.start, i.end, title, i.open_start, i.open_end)
            )
        return made

    rows: list[Row] = []

    def add(label: str, lane: str, found: list[Bar], empty: str = "", title: str = "") -> None:
        y = AXIS_HEIGHT + len(rows) * ROW_HEIGHT
        rows.append(Row(label, title or label, lane, y, found, empty))

    add("Power", "power", bars("power", "", lanes.power), "no power events in range")
    add("Sleep", "sleep", bars("sleep", "", lanes.sleep), "no sleep in range")
    if lanes.sessions:
        users = list(lanes.sessions)
        for user, shown in zip(users, short_labels(users, LABEL_MAX), strict=True):
            add(shown, "session", bars("session", user, lanes.sessions[user]), title=user)
    else:
        add("Sessions", "session", [], "no logons in range")
    now_x = x_of(now) if start <= now <= until else None
    if now < start:
        future_x: float | None = PLOT_LEFT  # the whole range is yet to come
    else:
        future_x = now_x if now_x is not None and now < until else None
    return Chart(
        width=WIDTH,
        height=AXIS_HEIGHT + len(rows) * ROW_HEIGHT + 6,
        plot_left=PLOT_LEFT,
        plot_right=PLOT_RIGHT,
        axis_height=AXIS_HEIGHT,
        row_height=ROW_HEIGHT,
        bar_height=BAR_HEIGHT,
        rows=rows,
        ticks=_ticks(start, until, zone, x_of),
        now_x=now_x,
        future_x=future_x,
        start=start,
        until=until,
        zone=zone.key,
    )
