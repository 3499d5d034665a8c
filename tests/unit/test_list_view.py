"""A list page's links: repeated filters survive every link, and a capped total says so."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page
from fleetward.entrypoints.http.pages.listing import ListView


def view(total: int | None, cap: int | None = None) -> ListView:
    filters = {"kind": ["logon", "logoff"], "source": [], "since": ""}
    page: Page[object] = Page([], "next-cursor", total)
    return ListView("/timeline", filters, Sort("at"), Sort("at", True), 25, "", page, "events", cap)


def test_repeated_filters_are_kept_in_links_and_in_the_page_size_form() -> None:
    shown = view(3)
    query = parse_qs(urlsplit(shown.next_url or "").query)
    assert query == {
        "kind": ["logon", "logoff"],
        "sort": ["at"],
        "limit": ["25"],
        "cursor": ["next-cursor"],
    }
    assert shown.kept_fields == [("kind", "logon"), ("kind", "logoff"), ("sort", "at")]
    assert shown.filtered
    assert "kind" not in shown.url(kind=None)


def test_a_total_past_the_cap_reads_as_more_than_the_cap() -> None:
    assert view(10_001, cap=10_000).capped
    assert not view(10_000, cap=10_000).capped
    assert not view(10_001).capped
    assert not view(None, cap=10_000).capped
