"""Sorted, counted pages of alerts on both engines: the keyset continues in the
chosen order across pages whatever the sort key's type (time, rank, lower-cased
text), and the total counts every match."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import TenantFixture
from tests.support.pages import api, trigger
from tests.support.pipeline import make_integration, post

ALERTS = [  # title, severity, day of March
    ("b disk", "minor", "03"),
    ("A cpu", "critical", "01"),
    ("c ram", "major", "04"),
    ("a fan", "critical", "02"),
    ("B psu", "none", "02"),
]


def walk(client: TestClient, tenant: TenantFixture, sort: str) -> tuple[list[str], Any]:
    """Every title, two per page, following the cursors; and the first page's total."""
    titles: list[str] = []
    page = api(client, tenant, "GET", f"/api/v1/alerts?sort={sort}&limit=2")
    total = page["total"]
    while True:
        titles += [a["title"] for a in page["items"]]
        if page["next"] is None:
            return titles, total
        page = api(
            client, tenant, "GET", f"/api/v1/alerts?sort={sort}&limit=2&cursor={page['next']}"
        )


def test_every_sort_pages_through_all_alerts_once_in_order(
    client: TestClient, tenant: TenantFixture
) -> None:
    integration = make_integration(client, tenant, "generic", {})
    for n, (title, severity, day) in enumerate(ALERTS):
        body = trigger(f"s{n}", severity=severity, occurred_at=f"2026-03-{day}T10:00:00Z")
        assert post(client, integration, {**body, "title": title}).status_code == 200

    by_title, total = walk(client, tenant, "title")
    assert total == 5
    # Case-insensitive; "A cpu" and "a fan" differ after the first letter.
    assert by_title == ["A cpu", "a fan", "b disk", "B psu", "c ram"]
    worst_first, _ = walk(client, tenant, "-severity")
    assert worst_first[:2] == ["a fan", "A cpu"]  # equal rank: the later id first
    assert worst_first[2:] == ["c ram", "b disk", "B psu"]
    by_time, _ = walk(client, tenant, "occurred_at")
    assert by_time[0] == "A cpu" and by_time[-1] == "c ram"
    assert sorted(by_time) == sorted(t for t, _, _ in ALERTS)

    filtered = api(client, tenant, "GET", "/api/v1/alerts?severity=critical&limit=1")
    assert filtered["total"] == 2 and len(filtered["items"]) == 1
