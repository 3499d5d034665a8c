"""The swimlanes' words: time ticks that say the year when it matters and stay inside
the drawing, and session labels that tell long, alike names apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fleetward.domain.timeline_lanes import Interval, Lanes, short_labels
from fleetward.entrypoints.http.pages import swimlanes

SIDS = [f"S-1-5-21-3871582759-1638593395-315824688-{rid}" for rid in (1001, 1002, 500)]


def test_long_names_sharing_their_start_keep_the_end_that_tells_them_apart() -> None:
    shown = short_labels(SIDS, 24)
    assert len(set(shown)) == 3
    assert all(len(label) <= 24 and "…" in label for label in shown)
    assert [label[-4:] for label in shown] == ["1001", "1002", "-500"]
    assert all(label.startswith("S-1-5") for label in shown), "the start still says what it is"


def test_short_names_stay_whole_and_alike_tails_get_more_of_the_end_or_a_number() -> None:
    assert short_labels(["alice", "CONTOSO\\bob"], 24) == ["alice", "CONTOSO\\bob"]
    # Same start and same last 20 characters: the cut moves until they differ.
    a = "CONTOSO\\" + "x" * 10 + "A" + "y" * 20
    b = "CONTOSO\\" + "x" * 10 + "B" + "y" * 20
    first, second = short_labels([a, b], 24)
    assert first != second and len(first) <= 24 and len(second) <= 24
    # Differing only where no cut of this width can show: numbered, still distinct.
    c = "a" * 12 + "1" + "z" * 30
    d = "a" * 12 + "2" + "z" * 30
    assert len(set(short_labels([c, d], 10))) == 2
    assert short_labels([c, c], 10)[0] == short_labels([c, c], 10)[1], "one name, one label"


def lanes(start: datetime, end: datetime) -> Lanes:
    return Lanes(start, end)


def test_ticks_over_more_than_a_year_say_the_year_and_the_last_stays_inside() -> None:
    start = datetime(2024, 12, 20, tzinfo=UTC)
    until = start + timedelta(days=730)
    chart = swimlanes.chart(lanes(start, until), until, until)
    labels = [t.label for t in chart.ticks]
    assert len(set(labels)) == len(labels), f"no two ticks read the same: {labels}"
    assert all(label[-4:].isdigit() and label[-4:].startswith("20") for label in labels)
    last = chart.ticks[-1]
    if last.x > swimlanes.PLOT_RIGHT - swimlanes.TICK_EDGE:
        assert last.anchor == "end", "ends at its tick instead of running off the drawing"
    assert all(t.anchor == "middle" for t in chart.ticks if t.x < swimlanes.PLOT_RIGHT - 100)


def test_a_range_across_new_year_says_the_year_and_a_day_says_hours() -> None:
    start = datetime(2025, 12, 20, tzinfo=UTC)
    until = datetime(2026, 1, 10, tzinfo=UTC)
    labels = [t.label for t in swimlanes.chart(lanes(start, until), until, until).ticks]
    assert any(label.endswith("2025") for label in labels)
    assert any(label.endswith("2026") for label in labels)
    day = datetime(2026, 3, 1, 6, tzinfo=UTC)
    end = day + timedelta(hours=24)
    hours = swimlanes.chart(lanes(day, end), end, end).ticks
    assert "02 Mar" in [t.label for t in hours] and "12:00" in [t.label for t in hours]
    assert not any("2026" in t.label for t in hours), "a day in one year needs no year"


def test_the_last_tick_at_the_right_edge_is_anchored_at_its_end() -> None:
    start = datetime(2026, 3, 1, 1, tzinfo=UTC)
    until = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a tick falls on the very end
    ticks = swimlanes.chart(lanes(start, until), until, until).ticks
    assert ticks[-1].x == swimlanes.PLOT_RIGHT and ticks[-1].anchor == "end"


TOKYO = ZoneInfo("Asia/Tokyo")


def test_a_reader_in_tokyo_gets_ticks_at_tokyo_midnights_and_bar_times_on_its_clock() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    until = start + timedelta(days=3)
    logged_on = Interval(datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 1, 12, tzinfo=UTC))
    drawn = swimlanes.chart(Lanes(start, until, power=[logged_on]), until, until, TOKYO)
    midnights = {t.label: t.at for t in drawn.ticks if t.at.astimezone(TOKYO).hour == 0}
    assert midnights == {
        "02 Mar": datetime(2026, 3, 2, tzinfo=TOKYO),
        "03 Mar": datetime(2026, 3, 3, tzinfo=TOKYO),
        "04 Mar": datetime(2026, 3, 4, tzinfo=TOKYO),
    }
    assert {t.at.astimezone(TOKYO).hour for t in drawn.ticks} == {0, 12}
    assert "12:00" in [t.label for t in drawn.ticks]
    assert drawn.zone == "Asia/Tokyo"
    title = drawn.rows[0].bars[0].title
    assert "2026-03-01 19:00 JST → 2026-03-01 21:00 JST" in title and "UTC" not in title


def test_hour_ticks_skip_the_hour_the_clocks_jump_over() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 28, 23, tzinfo=UTC)  # midnight in Berlin, before spring forward
    until = start + timedelta(hours=6)
    ticks = swimlanes.chart(lanes(start, until), until, until, berlin).ticks
    labels = [t.label for t in ticks]
    assert labels[:3] == ["29 Mar", "01:00", "03:00"], "02:00 never happened that night"
    assert len(set(labels)) == len(labels)
    assert [t.x for t in ticks] == sorted(t.x for t in ticks)
