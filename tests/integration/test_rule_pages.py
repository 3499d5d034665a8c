"""The alert rule editor and the maintenance-window pages over HTTP."""

from __future__ import annotations

import html
import json
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.pages import api, field_error, flash, setup_pipeline, trigger
from tests.support.pipeline import make_client

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only


def rule_form(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Disks",
        "active": "on",
        "create_ticket": "on",
        "reset_alert_on_ticket_close": "on",
    }
    return {**base, **fields}


def test_rule_editor_shows_every_error_next_to_its_field_and_keeps_the_input(
    client: TestClient, tenant: TenantFixture
) -> None:
    token = log_in(client, tenant.admin.email)
    bad = client.post(
        "/rules/new",
        data=rule_form(
            csrf_token=token,
            name=" ",
            message_pattern="disk (full",
            title_template="{{ device",
            keywords="disk, full",
            severities=["critical", "major"],
        ),
    )
    assert bad.status_code == 422
    assert "invalid regular expression: missing )" in field_error(bad, "message_pattern")
    assert "expected 'end of print statement'" in field_error(bad, "title_template")
    assert field_error(bad, "name") == "name must not be empty"
    assert 'value="disk (full"' in bad.text
    assert 'value="disk, full"' in bad.text
    assert 'value="critical" checked' in bad.text and 'value="major" checked' in bad.text
    assert 'value="minor" checked' not in bad.text
    assert api(client, tenant, "GET", "/api/v1/alert-rules")["items"] == []

    # A client id of another tenant (or made up) is the service's to refuse: next to the field.
    stranger = client.post(
        "/rules/new", data=rule_form(csrf_token=token, client_ids=[str(uuid.uuid4())])
    )
    assert stranger.status_code == 422
    assert "is not a client of yours" in field_error(stranger, "client_ids")


def test_rule_editor_creates_and_edits_a_rule(client: TestClient, tenant: TenantFixture) -> None:
    client_id = make_client(client, tenant, "Contoso")
    token = log_in(client, tenant.admin.email)
    created = client.post(
        "/rules/new",
        data=rule_form(
            csrf_token=token,
            severities=["critical"],
            keywords="disk, full, disk",
            activity_types="CONDITION",
            client_ids=[client_id],
            message_pattern=r"\d+% full",
            title_template="{{ client }}: {{ title }}",
            auto_resolve_ticket="on",
        ),
    )
    assert flash(created) == "Rule “Disks” created."
    (rule,) = api(client, tenant, "GET", "/api/v1/alert-rules")["items"]
    assert rule["conditions"] == {
        "severities": ["critical"],
        "activity_types": ["CONDITION"],
        "alert_classes": [],
        "source_types": [],
        "client_ids": [client_id],
        "keywords": ["disk", "full"],
        "message_pattern": r"\d+% full",
    }
    assert rule["actions"]["title_template"] == "{{ client }}: {{ title }}"
    assert rule["actions"]["auto_resolve_ticket"] is True
    assert rule["actions"]["create_ticket"] is True

    editor = client.get(f"/rules/{rule['id']}/edit")
    assert 'value="disk, full"' in editor.text
    assert f'<option value="{client_id}" selected>Contoso</option>' in editor.text
    # Unchecked boxes are absent from a form: the rule becomes inactive and ticketless.
    saved = client.post(
        f"/rules/{rule['id']}/edit", data={"name": "Disks (quiet)", "csrf_token": token}
    )
    assert flash(saved) == "Rule “Disks (quiet)” saved."
    after = api(client, tenant, "GET", f"/api/v1/alert-rules/{rule['id']}")
    assert after["active"] is False
    assert after["actions"]["create_ticket"] is False
    assert after["conditions"]["keywords"] == []
    assert "inactive" in saved.text and "record only, no ticket" in saved.text


def test_live_checks_of_pattern_and_templates(client: TestClient, tenant: TenantFixture) -> None:
    token = log_in(client, tenant.admin.email)

    def check(field: str, value: str) -> str:
        answer = client.post(f"/rules/check/{field}", data={field: value, "csrf_token": token})
        assert answer.status_code == 200
        return html.unescape(answer.text)

    assert "valid pattern" in check("message_pattern", "disk (full|low)")
    assert "missing )" in check("message_pattern", "disk (full")
    assert "valid template" in check("title_template", "{{ device }}")
    assert "check-bad" in check("description_template", "{% if %}")
    assert "check-ok" not in check("title_template", "")
    assert client.post("/rules/check/name", data={"csrf_token": token}).status_code == 422


def test_rules_move_up_and_down(client: TestClient, tenant: TenantFixture) -> None:
    ids = [
        api(client, tenant, "POST", "/api/v1/alert-rules", json={"name": name})["id"]
        for name in ("First", "Second", "Third")
    ]
    token = log_in(client, tenant.admin.email)

    def order(page: Response) -> list[str]:
        return re.findall(r'data-rule="([^"]+)"', page.text)

    assert order(client.get("/rules")) == ["First", "Second", "Third"]
    moved = client.post(f"/rules/{ids[2]}/move", data={"direction": "up", "csrf_token": token})
    assert flash(moved) == "Rule “Third” moved up."
    assert order(moved) == ["First", "Third", "Second"]
    moved = client.post(f"/rules/{ids[0]}/move", data={"direction": "down", "csrf_token": token})
    assert order(moved) == ["Third", "First", "Second"]
    # The top one cannot go higher: nothing changes.
    same = client.post(f"/rules/{ids[2]}/move", data={"direction": "up", "csrf_token": token})
    assert order(same) == ["Third", "First", "Second"]
    listed = [r["name"] for r in api(client, tenant, "GET", "/api/v1/alert-rules")["items"]]
    assert listed == ["Third", "First", "Second"]
    deleted = client.post(f"/rules/{ids[1]}/delete", data={"csrf_token": token})
    assert flash(deleted) == "Rule “Second” deleted."
    assert order(deleted) == ["Third", "First"]


def test_a_payload_is_tried_on_the_rules(client: TestClient, tenant: TenantFixture) -> None:
    made = setup_pipeline(client, tenant)
    iid = made["integration"]["id"]
    token = log_in(client, tenant.operator.email)
    payload = json.dumps(trigger("never-stored"))
    tried = client.post(
        "/rules/test", data={"integration_id": iid, "payload": payload, "csrf_token": token}
    )
    assert tried.status_code == 200
    results = html.unescape(tried.text.split('data-testid="test-results"')[1])
    assert "triggered → " in results and "result-created" in results
    assert "Catch all" in results and "matched" in results
    assert "resolved to Contoso" in results
    # Nothing was stored.
    assert len(api(client, tenant, "GET", "/api/v1/alerts")["items"]) == 1

    broken = client.post(
        "/rules/test", data={"integration_id": iid, "payload": "{nope", "csrf_token": token}
    )
    assert broken.status_code == 422
    assert "the payload is not JSON" in broken.text
    assert "\n{nope</textarea>" in broken.text
    missing = client.post(
        "/rules/test",
        data={"integration_id": iid, "payload": '{"kind": "triggered"}', "csrf_token": token},
    )
    assert missing.status_code == 422
    assert "external_alert_id" in missing.text


def test_maintenance_windows_are_made_changed_and_deleted(
    client: TestClient, tenant: TenantFixture
) -> None:
    token = log_in(client, tenant.admin.email)
    unknown = client.post(
        "/maintenance",
        data={
            "name": "Patch night",
            "kind": "weekly",
            "days": ["0", "6"],
            "start_time": "22:00",
            "end_time": "02:00",
            "timezone": "Mars/Olympus_Mons",
            "csrf_token": token,
        },
    )
    assert unknown.status_code == 422
    assert "unknown time zone 'Mars/Olympus_Mons'" in field_error(unknown, "timezone")
    assert 'value="Mars/Olympus_Mons"' in unknown.text
    assert 'value="6" checked' in unknown.text
    nothing = client.post("/maintenance", data={"name": "W", "kind": "weekly", "csrf_token": token})
    assert nothing.status_code == 422
    assert field_error(nothing, "days") == "choose at least one day"

    weekly = client.post(
        "/maintenance",
        data={
            "name": "Patch night",
            "kind": "weekly",
            "days": ["0", "6"],
            "start_time": "22:00",
            "end_time": "02:00",
            "timezone": "Europe/Berlin",
            "csrf_token": token,
        },
    )
    assert flash(weekly) == "Window “Patch night” created."
    once = client.post(
        "/maintenance",
        data={
            "name": "Move",
            "kind": "once",
            "starts_at": "2026-07-01T20:00",
            "ends_at": "2026-07-01T23:30",
            "bounds_zone": "Europe/Berlin",
            "csrf_token": token,
        },
    )
    assert flash(once) == "Window “Move” created."
    windows = {
        w["name"]: w for w in api(client, tenant, "GET", "/api/v1/maintenance-windows")["items"]
    }
    assert windows["Patch night"]["recurrence"] == {
        "type": "weekly",
        "days": [0, 6],
        "start_time": "22:00",
        "end_time": "02:00",
        "timezone": "Europe/Berlin",
    }
    # 20:00 in Berlin in summer is 18:00 UTC.
    assert windows["Move"]["starts_at"].startswith("2026-07-01T18:00:00")
    backwards = client.post(
        f"/maintenance/{windows['Move']['id']}/edit",
        data={
            "name": "Move",
            "kind": "once",
            "starts_at": "2026-07-02T00:00",
            "ends_at": "2026-07-01T00:00",
            "csrf_token": token,
        },
    )
    assert backwards.status_code == 422
    assert field_error(backwards, "ends_at") == "ends_at must be after starts_at"

    editor = client.get(f"/maintenance/{windows['Move']['id']}/edit")
    assert 'value="2026-07-01T18:00"' in editor.text
    renamed = client.post(
        f"/maintenance/{windows['Move']['id']}/edit",
        data={
            "name": "Office move",
            "kind": "once",
            "starts_at": "2026-07-01T18:00",
            "ends_at": "2026-07-02T06:00",
            "csrf_token": token,
        },
    )
    assert flash(renamed) == "Window “Office move” saved."
    gone = client.post(f"/maintenance/{windows['Move']['id']}/delete", data={"csrf_token": token})
    assert flash(gone) == "Window “Office move” deleted."
    assert [
        w["name"] for w in api(client, tenant, "GET", "/api/v1/maintenance-windows")["items"]
    ] == ["Patch night"]
