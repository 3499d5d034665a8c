"""The top bar's search box in a real browser: type, submit, follow a hit."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, log_in

pytestmark = pytest.mark.browser


def test_search_from_the_top_bar_and_open_a_ticket(page: Page, live_server: LiveServer) -> None:
    word = f"okapi{uuid.uuid4().hex[:6]}"
    created = httpx.post(
        f"{live_server.url}/api/v1/tickets",
        json={"title": f"Scanner {word} offline"},
        headers=live_server.tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    log_in(page, live_server.tenant.operator.email)

    box = page.get_by_role("search").get_by_label("Search")
    box.fill(f"  {word.upper()} ")
    box.press("Enter")

    expect(page).to_have_url(re.compile(r"/search\?q="))
    expect(page.get_by_test_id("count-tickets")).to_have_text("1")
    expect(page.get_by_test_id("count-alerts")).to_have_text("0")
    page.get_by_role("link", name=f"#{ticket['number']} Scanner {word} offline").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Scanner {word} offline")

    # "#number" in the box goes straight to the ticket.
    box = page.get_by_role("search").get_by_label("Search")
    box.fill(f"#{ticket['number']}")
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket['id']}$"))
