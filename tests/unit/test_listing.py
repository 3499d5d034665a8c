"""How lists are sorted and linked, and how times read: the parts with no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleetward.domain.display_time import relative, wall_clock, zone_or_none
from fleetward.domain.errors import InvalidInput
from fleetward.domain.listing import Sort, parse_sort
from fleetward.domain.pagination import Page
from fleetward.entrypoints.http.pages.listing import ListView, list_params

NEWEST = Sort("created_at", descending=True)


def test_a_sort_reads_key_and_direction_and_refuses_unknown_keys() -> None:
    assert parse_sort("-title", ("title", "created_at"), NEWEST) == Sort("title", True)
    assert parse_sort("title", ("title",), NEWEST) == Sort("title", False)
    assert parse_sort("", ("title",), NEWEST) == NEWEST
    with pytest.raises(InvalidInput) as refused:
        parse_sort("colour", ("title", "created_at"), NEWEST)
    assert refused.value.field == "sort"
    assert "created_at, title" in refused.value.message


def test_page_size_is_a_number_within_the_api_limit() -> None:
    assert list_params("", "", ("created_at",), NEWEST) == (NEWEST, 50)
    assert list_params("", "200", ("created_at",), NEWEST)[1] == 200
    for bad in ("0", "501", "ten", "-5"):
        with pytest.raises(InvalidInput) as refused:
            list_params("", bad, ("created_at",), NEWEST)
        assert refused.value.field == "limit"


def view(sort: Sort = NEWEST, cursor: str = "", next_cursor: str | None = "n1") -> ListView:
    filters = {"status": "active", "device": ""}
    return ListView("/alerts", filters, sort, NEWEST, 25, cursor, Page([], next_cursor, 7))


def test_links_keep_the_filters_sort_and_page_size() -> None:
    by_title = view(Sort("title"))
    assert by_title.url() == "/alerts?status=active&sort=title&limit=25"
    assert by_title.next_url == "/alerts?status=active&sort=title&limit=25&cursor=n1"
    # A header flips the direction of the sort in force, starts others in their own.
    assert by_title.sort_url("title") == "/alerts?status=active&sort=-title&limit=25"
    assert by_title.sort_url("severity", descending_first=True).endswith("sort=-severity&limit=25")
    # Back to the default order: no sort parameter at all, and the page starts over.
    continued = view(Sort("created_at"), cursor="c0")
    assert continued.sort_url("created_at") == "/alerts?status=active&limit=25"
    assert continued.first_url == "/alerts?status=active&sort=created_at&limit=25"
    assert view().first_url is None and view(next_cursor=None).next_url is None
    assert by_title.aria_sort("title") == "ascending"
    assert by_title.aria_sort("severity") == "none"
    assert ("limit", "25") not in by_title.kept_fields
    assert ("sort", "title") in by_title.kept_fields


def test_times_read_on_the_readers_clock_and_as_ago() -> None:
    at = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    berlin = zone_or_none("Europe/Berlin")
    assert berlin is not None
    assert wall_clock(at, berlin) == "2026-07-01 12:00 CEST"
    for name in ("", "Mars/Olympus", "../etc/passwd", "Europe", "x" * 100):
        assert zone_or_none(name) is None
    assert relative(at - timedelta(seconds=30), at) == "just now"
    assert relative(at - timedelta(minutes=4, seconds=50), at) == "4 min ago"
    assert relative(at - timedelta(hours=5), at) == "5 h ago"
    assert relative(at - timedelta(days=3), at) == "3 d ago"
    assert relative(at + timedelta(minutes=10), at) == "in 10 min"
