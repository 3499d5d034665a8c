"""Lists in a real browser: a sort header reorders the rows, the total counts them,
and the page-size menu applies at once, keeping the filter and the sort."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, log_in

pytestmark = pytest.mark.browser


def api(live_server: LiveServer, method: str, path: str, **kw: Any) -> Any:
    headers = live_server.tenant.admin.headers
    response = httpx.request(method, live_server.url + path, headers=headers, timeout=10, **kw)
    assert response.status_code < 300, response.text
    return response.json()


def test_sorting_tickets_by_title_and_changing_the_page_size(
    page: Page, live_server: LiveServer
) -> None:
    # The server lasts the whole session: this test's tickets are its own client's.
    tag = uuid.uuid4().hex[:6]
    client = api(live_server, "POST", "/api/v1/clients", json={"name": f"Lists {tag}"})
    titles = [f"{tag} {letter}{n:02d}" for n, letter in enumerate("bAc" * 9)]
    for title in titles:
        api(
            live_server,
            "POST",
            "/api/v1/tickets",
            json={"title": title, "client_id": client["id"]},
        )
    log_in(page, live_server.tenant.admin.email)
    page.goto(f"{live_server.url}/tickets?client_id={client['id']}")

    rows = page.locator("#ticket-list tbody tr")
    total = page.get_by_test_id("list-total")
    expect(total).to_have_text("27 tickets match")
    expect(rows).to_have_count(27)
    expect(rows.first).to_contain_text(titles[-1])  # newest first

    page.get_by_test_id("sort-title").click()
    expect(page.get_by_role("columnheader", name="Title")).to_have_attribute(
        "aria-sort", "ascending"
    )
    by_title = sorted(titles, key=str.lower)
    expect(rows.first).to_contain_text(by_title[0])
    expect(rows.last).to_contain_text(by_title[-1])
    page.get_by_test_id("sort-title").click()
    expect(rows.first).to_contain_text(by_title[-1])

    page.get_by_label("Per page").select_option("25")
    expect(page).to_have_url(re.compile(r"[?&]limit=25\b"))
    expect(rows).to_have_count(25)
    expect(total).to_have_text("27 tickets match")
    expect(rows.first).to_contain_text(by_title[-1])  # the sort was kept
    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(2)
    expect(rows.last).to_contain_text(by_title[0])
