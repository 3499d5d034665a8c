"""Times on the reader's clock: their profile's zone, else their browser's (the fw_tz
cookie), else UTC; date-time filters read on that clock; the profile page and
/api/v1/me that set it."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantFixture
from tests.integration.test_pages import csrf_of, log_in
from tests.support.agents import enrolled_agent, event
from tests.support.pages import field_error, flash, setup_pipeline

pytestmark = pytest.mark.sqlite_only

ME = "/api/v1/me"


def set_zone(client: TestClient, tenant: TenantFixture, zone: str) -> None:
    answer = client.patch(ME, json={"time_zone": zone}, headers=tenant.operator.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["time_zone"] == zone


def alert_page(client: TestClient, alert_id: str) -> str:
    page = client.get(f"/alerts/{alert_id}")
    assert page.status_code == 200, page.text
    return page.text


def test_an_alert_at_10z_shows_at_11_cet_for_a_person_in_berlin(
    client: TestClient, tenant: TenantFixture
) -> None:
    alert = setup_pipeline(client, tenant)["alert"]  # occurred 2026-01-05T10:00:00Z
    set_zone(client, tenant, "Europe/Berlin")
    log_in(client, tenant.operator.email)

    assert "2026-01-05 11:00 CET" in alert_page(client, alert["id"])
    listed = client.get("/alerts")
    assert "2026-01-05 11:00 CET" in listed.text
    assert "10:00 UTC" not in listed.text
    # The profile's zone wins over the browser's.
    client.cookies.set("fw_tz", "Asia/Tokyo")
    assert "2026-01-05 11:00 CET" in alert_page(client, alert["id"])


def test_without_a_profile_zone_the_browsers_is_used_then_utc(
    client: TestClient, tenant: TenantFixture
) -> None:
    alert = setup_pipeline(client, tenant)["alert"]
    log_in(client, tenant.operator.email)

    assert "2026-01-05 10:00 UTC" in alert_page(client, alert["id"])
    client.cookies.set("fw_tz", "Asia/Tokyo")
    assert "2026-01-05 19:00 JST" in alert_page(client, alert["id"])
    # As static/app.js sets it: percent-encoded.
    client.cookies.set("fw_tz", "America%2FNew_York")
    assert "2026-01-05 05:00 EST" in alert_page(client, alert["id"])
    # A cookie naming no zone is ignored, never an error.
    client.cookies.set("fw_tz", "Not/AZone")
    assert "2026-01-05 10:00 UTC" in alert_page(client, alert["id"])


def test_date_time_filters_are_read_on_the_readers_clock(
    client: TestClient, tenant: TenantFixture
) -> None:
    setup_pipeline(client, tenant, title="Fan failure")  # 10:00Z, 11:00 in Berlin
    agent = enrolled_agent(client, tenant)
    sent = client.post(
        "/api/v1/agent/events", json={"events": [event(0), event(1)]}, headers=agent.headers
    )  # 08:00Z and 08:01Z on 2025-03-01: 09:00 and 09:01 in Berlin
    assert sent.status_code == 200, sent.text
    set_zone(client, tenant, "Europe/Berlin")
    log_in(client, tenant.operator.email)

    assert "Fan failure" in client.get("/alerts", params={"since": "2026-01-05T10:30"}).text
    assert "Fan failure" not in client.get("/alerts", params={"since": "2026-01-05T11:30"}).text

    timeline = client.get("/timeline", params={"since": "2025-03-01T09:00"})
    assert timeline.status_code == 200, timeline.text
    assert "Since (Europe/Berlin)" in timeline.text
    assert "(UTC)" not in timeline.text
    assert "2025-03-01 09:00:00 CET" in timeline.text
    assert "2025-03-01 09:01:00 CET" in timeline.text
    later = client.get("/timeline", params={"since": "2025-03-01T09:01"})
    assert "2025-03-01 09:00:00 CET" not in later.text
    assert "2025-03-01 09:01:00 CET" in later.text

    events = client.get(f"/agents/{agent.id}/events")
    assert "Since (Europe/Berlin)" in events.text
    assert "(UTC)" not in events.text


def test_the_swimlanes_tick_at_the_readers_midnights_and_title_bars_on_their_clock(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    sent = client.post(
        "/api/v1/agent/events", json={"events": [event(i) for i in range(4)]}, headers=agent.headers
    )  # booted 08:02Z and shut down 08:03Z on 2025-03-01: 17:02 and 17:03 in Tokyo
    assert sent.status_code == 200, sent.text
    set_zone(client, tenant, "Asia/Tokyo")
    log_in(client, tenant.operator.email)

    page = client.get(
        f"/agents/{agent.id}/timeline",
        params={"since": "2025-03-01T00:00", "until": "2025-03-03T00:00"},
    )
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    ticks = re.findall(r'<text class="lane-tick"[^>]*>([^<]*)</text>', text)
    assert ticks == [
        "01 Mar",
        "06:00",
        "12:00",
        "18:00",
        "02 Mar",
        "06:00",
        "12:00",
        "18:00",
        "03 Mar",
    ], "every six hours from Tokyo's midnight"
    assert "Powered on, 2025-03-01 17:02 JST → 2025-03-01 17:03 JST (1 min)" in text
    caption = re.search(r'data-testid="lanes-caption">([^<]*)<', text)
    assert caption is not None and "times in Asia/Tokyo" in caption.group(1)
    assert " UTC" not in caption.group(1)


def test_the_profile_page_sets_the_zone_and_refuses_an_unknown_one(
    client: TestClient, tenant: TenantFixture
) -> None:
    log_in(client, tenant.readonly.email)
    client.cookies.set("fw_tz", "America%2FNew_York")
    page = client.get("/profile")
    assert page.status_code == 200
    assert "time zone (currently America/New_York)</option>" in page.text
    assert '<a href="/profile" class="profile-link"' in client.get("/alerts").text
    token = csrf_of(page)

    bad = client.post("/profile", data={"csrf_token": token, "time_zone": "Mars/Olympus_Mons"})
    assert bad.status_code == 422
    assert "is not a known time zone" in field_error(bad, "time_zone")
    too_long = client.post(
        "/profile", data={"csrf_token": token, "time_zone": "", "display_name": "n" * 201}
    )
    assert too_long.status_code == 422
    assert "at most 200" in field_error(too_long, "display_name")

    saved = client.post(
        "/profile",
        data={"csrf_token": token, "time_zone": "Europe/Berlin", "display_name": " Rea  Donly "},
    )
    assert saved.status_code == 200  # followed to the profile page
    assert flash(saved) == "Profile saved."
    assert re.search(r"<option selected>Europe/Berlin</option>", saved.text)
    assert 'value="Rea Donly"' in saved.text
    me = client.get(ME, headers=tenant.readonly.headers).json()
    assert (me["time_zone"], me["display_name"]) == ("Europe/Berlin", "Rea Donly")

    # Back to the browser's zone: the empty choice.
    client.post("/profile", data={"csrf_token": token, "time_zone": "", "display_name": ""})
    assert client.get(ME, headers=tenant.readonly.headers).json()["time_zone"] == ""
    # The form needs the session's token, as every form does.
    forged = client.post("/profile", data={"csrf_token": "nope", "time_zone": "UTC"})
    assert forged.status_code == 403


def test_the_me_api_reads_and_sets_only_the_callers_own_profile(
    client: TestClient, tenant: TenantFixture
) -> None:
    me = client.get(ME, headers=tenant.readonly.headers)
    assert me.status_code == 200
    assert me.json()["email"] == tenant.readonly.email
    assert me.json()["time_zone"] == ""

    for body, field in (
        ({"time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"time_zone": "x" * 65}, "time_zone"),
        ({"role": "admin"}, "role"),
    ):
        answer = client.patch(ME, json=body, headers=tenant.readonly.headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == field
    assert client.get(ME, headers=tenant.readonly.headers).json()["role"] == "readonly"

    changed = client.patch(ME, json={"time_zone": "Asia/Tokyo"}, headers=tenant.readonly.headers)
    assert changed.json()["time_zone"] == "Asia/Tokyo"
    assert client.get(ME, headers=tenant.admin.headers).json()["time_zone"] == ""
    assert client.get(ME).status_code == 401


def test_a_one_off_windows_times_are_on_the_readers_clock_a_weekly_one_keeps_its_zone(
    client: TestClient, tenant: TenantFixture
) -> None:
    made = client.post(
        "/api/v1/maintenance-windows",
        json={
            "name": "Move",
            "starts_at": "2026-07-01T18:00:00Z",
            "ends_at": "2026-07-01T21:30:00Z",
        },
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    answer = client.patch(ME, json={"time_zone": "Europe/Berlin"}, headers=tenant.admin.headers)
    assert answer.status_code == 200
    log_in(client, tenant.admin.email)

    new_form = client.get("/maintenance")
    assert '<option value="Europe/Berlin" selected>' in new_form.text
    edit = client.get(f"/maintenance/{made.json()['id']}/edit")
    assert 'value="2026-07-01T20:00"' in edit.text  # 18:00Z is 20:00 in Berlin in summer
    assert 'value="2026-07-01T23:30"' in edit.text
    assert '<option value="Europe/Berlin" selected>' in edit.text
    assert "keeps its own time zone" in edit.text
