"""Ending and extending maintenance windows from the dashboard: End now and Extend on
the windows list and the window's page, audited; what they do to a weekly window;
only admins, only their own tenant's windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.pages import api, flash, forms

pytestmark = pytest.mark.sqlite_only

WINDOWS = "/api/v1/maintenance-windows"


def one_off(client: TestClient, tenant: TenantFixture, start: timedelta, end: timedelta) -> Any:
    now = datetime.now(UTC)
    body = {
        "name": "Patching",
        "starts_at": (now + start).isoformat(),
        "ends_at": (now + end).isoformat(),
    }
    return api(client, tenant, "POST", WINDOWS, json=body)


def minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def weekly_covering_now(client: TestClient, tenant: TenantFixture) -> tuple[Any, datetime]:
    """Every day, from an hour ago to an hour from now (UTC), and that occurrence's end."""
    now = datetime.now(UTC)
    start, end = minute(now - timedelta(hours=1)), minute(now + timedelta(hours=1))
    body = {
        "name": "Nightly",
        "recurrence": {
            "type": "weekly",
            "days": list(range(7)),
            "start_time": start.strftime("%H:%M"),
            "end_time": end.strftime("%H:%M"),
            "timezone": "UTC",
        },
    }
    return api(client, tenant, "POST", WINDOWS, json=body), end


def at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


def active(client: TestClient, tenant: TenantFixture, window_id: str) -> bool:
    return bool(api(client, tenant, "GET", f"{WINDOWS}/{window_id}/active")["active"])


def audit_actions(client: TestClient, tenant: TenantFixture, window_id: str) -> list[str]:
    page = api(client, tenant, "GET", "/api/v1/audit-log", params={"object_id": window_id})
    return [entry["action"] for entry in page["items"]]


def test_an_admin_ends_a_window_now_from_the_list(
    client: TestClient, tenant: TenantFixture
) -> None:
    window = one_off(client, tenant, -timedelta(hours=1), timedelta(hours=2))
    token = log_in(client, tenant.admin.email)
    listing = client.get("/maintenance")
    assert f"/maintenance/{window['id']}/end-now" in forms(listing)
    assert f"/maintenance/{window['id']}/extend" in forms(listing)

    before = datetime.now(UTC)
    done = client.post(f"/maintenance/{window['id']}/end-now", data={"csrf_token": token})
    after = datetime.now(UTC)
    assert flash(done) == "Window “Patching” ended."
    assert not active(client, tenant, window["id"])
    ends_at = at(api(client, tenant, "GET", f"{WINDOWS}/{window['id']}")["ends_at"])
    assert before <= ends_at <= after
    assert "maintenance_window.end_now" in audit_actions(client, tenant, window["id"])
    # Over: nothing to end, and the list no longer offers it.
    assert f"/maintenance/{window['id']}/end-now" not in forms(done)
    again = client.post(f"/maintenance/{window['id']}/end-now", data={"csrf_token": token})
    assert again.status_code == 409
    assert "not on now" in again.text


def test_extend_by_a_chosen_amount_or_to_a_chosen_end(
    client: TestClient, tenant: TenantFixture
) -> None:
    window = one_off(client, tenant, -timedelta(hours=1), timedelta(hours=1))
    end = at(window["ends_at"])
    token = log_in(client, tenant.admin.email)
    url = f"/maintenance/{window['id']}/extend"

    done = client.post(url, data={"csrf_token": token, "by": "30", "back": "edit"})
    assert str(done.url).endswith(f"/maintenance/{window['id']}/edit")
    assert flash(done).startswith("Window “Patching” now runs until ")
    assert at(
        api(client, tenant, "GET", f"{WINDOWS}/{window['id']}")["ends_at"]
    ) == end + timedelta(minutes=30)
    # The window's page offers a chosen end too, on the reader's clock (UTC here).
    assert 'name="until"' in done.text
    chosen = minute(datetime.now(UTC) + timedelta(days=1))
    client.post(url, data={"csrf_token": token, "until": chosen.strftime("%Y-%m-%dT%H:%M")})
    assert at(api(client, tenant, "GET", f"{WINDOWS}/{window['id']}")["ends_at"]) == chosen
    assert audit_actions(client, tenant, window["id"]).count("maintenance_window.extend") == 2

    for data, message in (
        ({"by": "7"}, "choose how long to extend by"),
        ({"until": "2020-01-01T00:00"}, "until must be in the future"),
        ({"until": "tomorrow"}, "is not a date and time"),
    ):
        refused = client.post(url, data={"csrf_token": token, **data})
        assert refused.status_code == 422, data
        assert message in refused.text, data
    assert at(api(client, tenant, "GET", f"{WINDOWS}/{window['id']}")["ends_at"]) == chosen


def test_an_ended_window_extended_runs_again_from_now(
    client: TestClient, tenant: TenantFixture
) -> None:
    window = one_off(client, tenant, -timedelta(hours=3), -timedelta(hours=2))
    token = log_in(client, tenant.admin.email)
    before = datetime.now(UTC)
    client.post(f"/maintenance/{window['id']}/extend", data={"csrf_token": token, "by": "60"})
    ends_at = at(api(client, tenant, "GET", f"{WINDOWS}/{window['id']}")["ends_at"])
    assert before + timedelta(hours=1) <= ends_at <= datetime.now(UTC) + timedelta(hours=1)
    assert active(client, tenant, window["id"])


def test_a_weekly_window_skips_the_rest_of_this_occurrence_and_keeps_its_schedule(
    client: TestClient, tenant: TenantFixture
) -> None:
    window, occurrence_end = weekly_covering_now(client, tenant)
    token = log_in(client, tenant.admin.email)
    done = client.post(f"/maintenance/{window['id']}/end-now", data={"csrf_token": token})
    assert flash(done) == "Window “Nightly” ended until its next occurrence."
    stored = api(client, tenant, "GET", f"{WINDOWS}/{window['id']}")
    assert not active(client, tenant, window["id"])
    assert at(stored["starts_at"]) == occurrence_end  # it starts again with the next one
    assert stored["recurrence"] == window["recurrence"] and stored["ends_at"] is None


def test_a_weekly_window_is_extended_by_a_one_off_window_of_the_same_scope(
    client: TestClient, tenant: TenantFixture
) -> None:
    window, occurrence_end = weekly_covering_now(client, tenant)
    token = log_in(client, tenant.admin.email)
    done = client.post(
        f"/maintenance/{window['id']}/extend", data={"csrf_token": token, "by": "240"}
    )
    assert flash(done).startswith("Window “Nightly (extended)” added: this occurrence now runs")
    windows = api(client, tenant, "GET", WINDOWS)["items"]
    extension = next(w for w in windows if w["name"] == "Nightly (extended)")
    assert extension["recurrence"] is None
    assert at(extension["ends_at"]) == occurrence_end + timedelta(hours=4)
    assert active(client, tenant, extension["id"])
    # The weekly window itself is as it was.
    assert api(client, tenant, "GET", f"{WINDOWS}/{window['id']}") == window
    assert "maintenance_window.extend" in audit_actions(client, tenant, window["id"])


def test_a_weekly_window_that_is_off_is_not_extended(
    client: TestClient, tenant: TenantFixture
) -> None:
    window, _ = weekly_covering_now(client, tenant)
    token = log_in(client, tenant.admin.email)
    client.post(f"/maintenance/{window['id']}/end-now", data={"csrf_token": token})
    page = client.get(f"/maintenance/{window['id']}/edit")
    assert f"/maintenance/{window['id']}/extend" not in forms(page)
    refused = client.post(
        f"/maintenance/{window['id']}/extend", data={"csrf_token": token, "by": "30"}
    )
    assert refused.status_code == 409
    assert "extended while it is on" in refused.text


@pytest.mark.parametrize("role", ["operator", "readonly"])
def test_only_admins_end_or_extend(client: TestClient, tenant: TenantFixture, role: str) -> None:
    window = one_off(client, tenant, -timedelta(hours=1), timedelta(hours=1))
    token = log_in(client, getattr(tenant, role).email)
    assert forms(client.get("/maintenance")) == []
    for action, data in (("end-now", {}), ("extend", {"by": "30"})):
        refused = client.post(
            f"/maintenance/{window['id']}/{action}", data={**data, "csrf_token": token}
        )
        assert refused.status_code == 403, action
    assert api(client, tenant, "GET", f"{WINDOWS}/{window['id']}") == window


def test_another_tenants_window_is_404(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    theirs = one_off(client, other_tenant, -timedelta(hours=1), timedelta(hours=1))
    mine = one_off(client, tenant, -timedelta(hours=1), timedelta(hours=1))
    token = log_in(client, tenant.admin.email)
    # The same posts on one's own window do what they say: only the owner differs.
    for action, data in (("extend", {"by": "30"}), ("end-now", {})):
        done = client.post(
            f"/maintenance/{mine['id']}/{action}", data={**data, "csrf_token": token}
        )
        assert done.status_code == 200 and flash(done), action
    for action, data in (("end-now", {}), ("extend", {"by": "30"})):
        refused = client.post(
            f"/maintenance/{theirs['id']}/{action}", data={**data, "csrf_token": token}
        )
        assert refused.status_code == 404, action
    assert api(client, other_tenant, "GET", f"{WINDOWS}/{theirs['id']}") == theirs
