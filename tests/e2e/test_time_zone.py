"""Times in a real browser: the browser's own zone when the profile names none, the
profile's when it does."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import TIMEOUT_MS, LiveServer, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def tokyo(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=live_server.url, timezone_id="Asia/Tokyo")
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


def an_alert_at_10z(live_server: LiveServer, title: str) -> str:
    headers = live_server.tenant.admin.headers
    made = httpx.post(
        f"{live_server.url}/api/v1/integrations",
        json={"provider": "generic", "name": f"tz {uuid.uuid4().hex[:6]}", "settings": {}},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    integration = made.json()
    sent = httpx.post(
        live_server.url + urlsplit(integration["webhook_url"]).path,
        json={
            "kind": "triggered",
            "external_alert_id": uuid.uuid4().hex,
            "device": {"external_id": "tz-1", "name": "TZ One"},
            "severity": "major",
            "title": title,
            "message": "",
            "occurred_at": "2026-01-05T10:00:00Z",
        },
        headers={"X-Fleetward-Token": integration["webhook_secret"]},
    )
    assert sent.status_code == 200, sent.text
    alert_id: str = sent.json()["alert_id"]
    return alert_id


def test_times_follow_the_browsers_zone_then_the_profiles(
    tokyo: BrowserContext, live_server: LiveServer
) -> None:
    alert_id = an_alert_at_10z(live_server, f"Clock check {uuid.uuid4().hex[:6]}")
    person = live_server.tenant.readonly
    page: Page = tokyo.new_page()
    log_in(page, person.email)
    try:
        page.goto(f"/alerts/{alert_id}")
        occurred = page.locator("dt", has_text="Occurred").locator("xpath=following-sibling::dd[1]")
        expect(occurred).to_contain_text("2026-01-05 19:00 JST")

        page.get_by_test_id("whoami").get_by_role("link", name=person.email).click()
        zone = page.get_by_label("Time zone")
        expect(zone.locator("option").first).to_have_text(
            "Browser's time zone (currently Asia/Tokyo)"
        )
        zone.select_option("Europe/Berlin")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("Profile saved.")

        page.goto(f"/alerts/{alert_id}")
        expect(occurred).to_contain_text("2026-01-05 11:00 CET")
        expect(page.locator("body")).not_to_contain_text(re.compile(r"19:00 JST"))
    finally:
        # The server's users last the whole session: leave the profile as found.
        reset = httpx.patch(
            f"{live_server.url}/api/v1/me", json={"time_zone": ""}, headers=person.headers
        )
        assert reset.status_code == 200, reset.text
