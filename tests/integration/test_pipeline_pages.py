"""The alert pipeline's dashboard pages over HTTP: what they show, who may write, isolation."""

from __future__ import annotations

import html
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from fleetward.bootstrap import Container
from fleetward.entrypoints.http.pages.integrations import (
    TACTICAL_RESOLVED_BODY,
    TACTICAL_TRIGGER_BODY,
)
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.pipeline import make_client, make_integration, post

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only

DOCS = Path(__file__).resolve().parents[2] / "docs"


def trigger(alert_id: str = "a1", **fields: Any) -> dict[str, Any]:
    """A generic trigger (docs/providers/generic.md)."""
    body: dict[str, Any] = {
        "kind": "triggered",
        "external_alert_id": alert_id,
        "device": {"external_id": "srv-1", "name": "Server One"},
        "severity": "critical",
        "title": "Disk C: full",
        "message": "Disk C: is 99% full",
        "occurred_at": "2026-01-05T10:00:00Z",
    }
    body.update(fields)
    return body


def api(client: TestClient, tenant: TenantFixture, method: str, path: str, **kw: Any) -> Any:
    response = client.request(method, path, headers=tenant.admin.headers, **kw)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def setup_pipeline(
    client: TestClient, tenant: TenantFixture, title: str = "Disk C: full"
) -> dict[str, Any]:
    """A client, a generic integration defaulting to it, a catch-all rule, one alert."""
    client_id = make_client(client, tenant, "Contoso")
    integration = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    rule = api(client, tenant, "POST", "/api/v1/alert-rules", json={"name": "Catch all"})
    answer = post(client, integration, trigger(title=title))
    assert answer.status_code == 200, answer.text
    alert_id = answer.json()["alert_id"]
    alert = api(client, tenant, "GET", f"/api/v1/alerts/{alert_id}")
    return {"client_id": client_id, "integration": integration, "rule": rule, "alert": alert}


def find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not found"
    return found.group(1)


def forms(page: Response) -> list[str]:
    """The actions of the page's post forms, leaving out the log-out button."""
    return [
        a for a in re.findall(r'<form method="post" action="([^"]+)"', page.text) if a != "/logout"
    ]


def field_error(page: Response, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', page.text)
    return html.unescape(found.group(1)) if found else ""


def flash(page: Response) -> str:
    found = re.search(r'<p class="notice notice-ok" role="status">([^<]*)</p>', page.text)
    return html.unescape(found.group(1)) if found else ""


def test_every_page_shows_what_the_api_made(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    made = setup_pipeline(client, tenant)
    alert, integration = made["alert"], made["integration"]
    window = api(
        client,
        tenant,
        "POST",
        "/api/v1/maintenance-windows",
        json={
            "name": "Patch night",
            "recurrence": {
                "type": "weekly",
                "days": [0],
                "start_time": "02:00",
                "end_time": "04:00",
                "timezone": "Europe/Berlin",
            },
        },
    )
    log_in(client, tenant.admin.email)

    alerts = client.get("/alerts")
    assert alerts.status_code == 200
    assert f'href="/alerts/{alert["id"]}"' in alerts.text
    assert '<span class="badge sev sev-critical">critical</span>' in alerts.text
    assert '<span class="badge ast ast-active">active</span>' in alerts.text
    nav = re.findall(r'<a href="(/[a-z]+)"[^>]*>', alerts.text.split("</nav>")[0])
    assert nav == [
        "/alerts",
        "/triage",
        "/tickets",
        "/clients",
        "/rules",
        "/maintenance",
        "/integrations",
        "/agents",
        "/timeline",
        "/watches",
        "/users",
    ]

    detail = client.get(f"/alerts/{alert['id']}")
    assert detail.status_code == 200
    text = html.unescape(detail.text)
    assert "resolved to Contoso" in text
    assert "Catch all" in text and ">matched<" in text
    assert "opened #1" in text
    assert f'href="/tickets/{alert["ticket_id"]}"' in detail.text
    assert "srv-1" in text and "Server One" in text

    tickets = client.get("/tickets")
    assert "Server One: Disk C: full" in html.unescape(tickets.text)
    ticket = client.get(f"/tickets/{alert['ticket_id']}")
    assert ticket.status_code == 200
    assert f'href="/alerts/{alert["id"]}"' in ticket.text
    assert set(forms(ticket)) == {
        f"/tickets/{alert['ticket_id']}/{action}"
        for action in ("status", "comments", "time-entries")
    }

    rules = client.get("/rules")
    assert f'id="rule-{made["rule"]["id"]}"' in rules.text
    assert "every alert" in rules.text
    assert client.get(f"/rules/{made['rule']['id']}/edit").status_code == 200

    windows = client.get("/maintenance")
    assert f'id="window-{window["id"]}"' in windows.text
    assert "every Sun" in windows.text and "02:00\N{EN DASH}04:00 Europe/Berlin" in windows.text

    listing = client.get("/integrations")
    assert f'href="/integrations/{integration["id"]}"' in listing.text
    page = client.get(f"/integrations/{integration['id']}")
    assert f"/api/v1/webhooks/{integration['id']}" in page.text
    assert "Server One" in page.text  # the device discovered from the alert
    assert integration["webhook_secret"] not in page.text


def test_user_text_is_escaped_everywhere(client: TestClient, tenant: TenantFixture) -> None:
    evil = '<script>alert("x")</script>'
    made = setup_pipeline(client, tenant, title=evil)
    api(
        client,
        tenant,
        "PATCH",
        f"/api/v1/alert-rules/{made['rule']['id']}",
        json={"name": evil, "actions": {"title_template": "<b>{{ title }}</b>"}},
    )
    log_in(client, tenant.admin.email)
    alert = made["alert"]
    for path in (
        "/alerts",
        f"/alerts/{alert['id']}",
        "/tickets",
        f"/tickets/{alert['ticket_id']}",
        "/rules",
        f"/rules/{made['rule']['id']}/edit",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text, path
        assert "<b>{{" not in page.text, path
    assert "&lt;script&gt;" in client.get("/alerts").text
    assert "&lt;b&gt;{{ title }}&lt;/b&gt;" in client.get(f"/rules/{made['rule']['id']}/edit").text


def test_readonly_sees_no_forms_and_every_write_is_refused(
    client: TestClient, tenant: TenantFixture
) -> None:
    made = setup_pipeline(client, tenant)
    alert, integration, rule = made["alert"], made["integration"], made["rule"]
    iid = integration["id"]
    assets = api(client, tenant, "GET", f"/api/v1/integrations/{iid}/assets")["items"]
    token = log_in(client, tenant.readonly.email)
    for path in (
        "/alerts",
        f"/alerts/{alert['id']}",
        "/tickets",
        f"/tickets/{alert['ticket_id']}",
        "/rules",
        "/maintenance",
        "/integrations",
        f"/integrations/{iid}",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert forms(page) == [], path
    for path in ("/rules/new", f"/rules/{rule['id']}/edit", f"/rules/{rule['id']}/delete"):
        assert client.get(path).status_code == 403, path

    ticket = f"/tickets/{alert['ticket_id']}"
    writes = [
        (f"{ticket}/comments", {"body": "hi"}),
        (f"{ticket}/time-entries", {"minutes": "5"}),
        (f"{ticket}/status", {"status_id": ""}),
        ("/rules/new", {"name": "Mine"}),
        (f"/rules/{rule['id']}/edit", {"name": "Mine"}),
        (f"/rules/{rule['id']}/move", {"direction": "down"}),
        (f"/rules/{rule['id']}/delete", {}),
        (
            "/maintenance",
            {"name": "W", "starts_at": "2026-01-01T00:00", "ends_at": "2026-01-02T00:00"},
        ),
        ("/integrations", {"provider": "generic", "name": "Mine"}),
        (f"/integrations/{iid}/rotate-secret", {}),
        (f"/integrations/{iid}/mappings", {"external_org_id": "7", "client_id": made["client_id"]}),
        (f"/integrations/{iid}/assets/{assets[0]['id']}", {"client_id": ""}),
    ]
    for path, data in writes:
        refused = client.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 403, path
        assert "Not allowed" in refused.text, path
    after = api(client, tenant, "GET", f"/api/v1/tickets/{alert['ticket_id']}/comments")
    # Only the ticket's opening comment, the pipeline's (#15): nothing from the refused posts.
    assert [c["author_type"] for c in after["items"]] == ["system"]
    assert len(api(client, tenant, "GET", "/api/v1/integrations")["items"]) == 1


def test_an_operator_works_tickets_but_not_settings(
    client: TestClient, tenant: TenantFixture
) -> None:
    made = setup_pipeline(client, tenant)
    token = log_in(client, tenant.operator.email)
    assert forms(client.get(f"/tickets/{made['alert']['ticket_id']}"))
    assert forms(client.get("/rules")) == ["/rules/test#test"]
    assert client.get("/rules/new").status_code == 403
    assert "New integration" not in client.get("/integrations").text
    created = client.post("/rules/new", data={"name": "Mine", "csrf_token": token})
    assert created.status_code == 403


def test_posts_without_the_csrf_token_are_refused(
    client: TestClient, tenant: TenantFixture
) -> None:
    made = setup_pipeline(client, tenant)
    log_in(client, tenant.admin.email)
    ticket = f"/tickets/{made['alert']['ticket_id']}"
    for path, data in [
        (f"{ticket}/comments", {"body": "forged"}),
        (f"{ticket}/status", {"status_id": ""}),
        ("/rules/new", {"name": "Forged"}),
        (f"/rules/{made['rule']['id']}/delete", {}),
        ("/rules/check/message_pattern", {"message_pattern": "x"}),
        ("/maintenance", {"name": "Forged"}),
        ("/integrations", {"provider": "generic", "name": "Forged"}),
        (f"/integrations/{made['integration']['id']}/rotate-secret", {}),
    ]:
        for token in ({}, {"csrf_token": "forged"}):
            refused = client.post(path, data={**data, **token})
            assert refused.status_code == 403, path
            assert "CSRF" in refused.text, path
    # Only the ticket's opening comment, the pipeline's (#15): nothing forged.
    comments = api(client, tenant, "GET", f"/api/v1/tickets/{made['alert']['ticket_id']}/comments")
    assert [c["author_type"] for c in comments["items"]] == ["system"]
    assert len(api(client, tenant, "GET", "/api/v1/alert-rules")["items"]) == 1


def test_another_tenants_objects_are_404_pages(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    theirs = setup_pipeline(client, other_tenant, title="Globex secret outage")
    window = api(
        client,
        other_tenant,
        "POST",
        "/api/v1/maintenance-windows",
        json={
            "name": "Globex window",
            "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": "2026-01-02T00:00:00Z",
        },
    )
    alert, rule, iid = theirs["alert"], theirs["rule"], theirs["integration"]["id"]
    token = log_in(client, tenant.admin.email)
    for path in (
        f"/alerts/{alert['id']}",
        f"/tickets/{alert['ticket_id']}",
        f"/rules/{rule['id']}/edit",
        f"/rules/{rule['id']}/delete",
        f"/maintenance/{window['id']}/edit",
        f"/integrations/{iid}",
        "/alerts/not-a-uuid",
        f"/tickets/{uuid.uuid4()}",
    ):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "Not found" in page.text
        assert "Globex" not in page.text
    for path, data in [
        (f"/tickets/{alert['ticket_id']}/comments", {"body": "mine"}),
        (f"/tickets/{alert['ticket_id']}/status", {"status_id": ""}),
        (f"/rules/{rule['id']}/edit", {"name": "Mine"}),
        (f"/rules/{rule['id']}/move", {"direction": "up"}),
        (f"/rules/{rule['id']}/delete", {}),
        (f"/maintenance/{window['id']}/delete", {}),
        (f"/integrations/{iid}/rotate-secret", {}),
        (f"/integrations/{iid}/mappings", {"external_org_id": "1", "client_id": ""}),
    ]:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 404, path
    # Nor do their names leak through the lists.
    for path in ("/alerts", "/tickets", "/rules", "/maintenance", "/integrations"):
        assert "Globex" not in client.get(path).text
    assert api(client, other_tenant, "GET", f"/api/v1/alert-rules/{rule['id']}")["name"] == (
        "Catch all"
    )


def test_alert_filters_and_pages(client: TestClient, tenant: TenantFixture) -> None:
    client_id = make_client(client, tenant, "Contoso")
    integration = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    for n in range(51):
        severity = "minor" if n == 0 else "critical"
        day = "2026-01-01" if n == 0 else "2026-02-01"
        body = trigger(f"a{n}", severity=severity, occurred_at=f"{day}T10:00:00Z", title=f"T{n}")
        assert post(client, integration, body).status_code == 200
    log_in(client, tenant.admin.email)

    minor = client.get("/alerts", params={"severity": "minor"})
    assert re.findall(r'class="strong">(T\d+)<', minor.text) == ["T0"]
    early = client.get("/alerts", params={"until": "2026-01-15T00:00"})
    assert re.findall(r'class="strong">(T\d+)<', early.text) == ["T0"]
    late = client.get("/alerts", params={"since": "2026-01-15T00:00", "status": "active"})
    assert len(re.findall(r'class="strong">(T\d+)<', late.text)) == 50
    assert 'rel="next"' not in late.text

    first = client.get("/alerts", params={"client_id": client_id})
    assert len(re.findall(r'class="strong">(T\d+)<', first.text)) == 50
    next_url = html.unescape(find(r'<a href="([^"]+)" rel="next"', first.text))
    assert f"client_id={client_id}" in next_url
    second = client.get(next_url)
    assert re.findall(r'class="strong">(T\d+)<', second.text) == ["T0"]

    bad = client.get("/alerts", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "since: 'yesterday' is not a date and time" in html.unescape(bad.text)
    backwards = client.get(
        "/alerts", params={"since": "2026-02-01T00:00", "until": "2026-01-01T00:00"}
    )
    assert backwards.status_code == 422
    assert client.get("/alerts", params={"severity": "apocalyptic"}).status_code == 422


def test_a_ticket_gets_comments_time_and_is_closed(
    client: TestClient, tenant: TenantFixture
) -> None:
    made = setup_pipeline(client, tenant)
    ticket_id = made["alert"]["ticket_id"]
    token = log_in(client, tenant.operator.email)
    path = f"/tickets/{ticket_id}"

    commented = client.post(
        f"{path}/comments", data={"body": "Cleaning up\ntemp files", "csrf_token": token}
    )
    assert flash(commented) == "Comment added."
    assert "Cleaning up\ntemp files" in commented.text
    assert "operator@acme-msp.test" in commented.text
    empty = client.post(f"{path}/comments", data={"body": "  ", "csrf_token": token})
    assert empty.status_code == 422
    assert "body must not be empty" in empty.text

    booked = client.post(
        f"{path}/time-entries", data={"minutes": "25", "note": "disk", "csrf_token": token}
    )
    assert flash(booked) == "25 minutes booked."
    assert "25 min in total" in booked.text
    too_long = client.post(f"{path}/time-entries", data={"minutes": "2000", "csrf_token": token})
    assert too_long.status_code == 422
    assert 'value="2000"' in too_long.text

    statuses = re.findall(r'<option value="([0-9a-f-]{36})"[^>]*>([^<]+)</option>', booked.text)
    closed = next(sid for sid, label in statuses if label == "Closed (closes)")
    closing = client.post(
        f"{path}/status", data={"status_id": closed, "priority_id": "", "csrf_token": token}
    )
    assert flash(closing) == "Ticket #1 closed."
    assert '<span class="badge badge-closed">closed</span>' in closing.text
    # The close comment is the system's, styled as such.
    assert re.search(r'comment-system">.*?Closed by operator@acme-msp\.test', closing.text, re.S)
    alert = api(client, tenant, "GET", f"/api/v1/alerts/{made['alert']['id']}")
    assert alert["status"] == "resolved"
    assert "ast-resolved" in client.get(f"/alerts/{alert['id']}").text


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


def doc_templates() -> list[str]:
    """The JSON bodies in docs/providers/tacticalrmm.md that carry an `event`."""
    text = (DOCS / "providers" / "tacticalrmm.md").read_text()
    blocks = re.findall(r"```json\n(.*?)\n```", text, re.S)
    return [b for b in blocks if '"event"' in b]


def test_tactical_templates_on_the_page_are_the_documented_ones() -> None:
    assert doc_templates() == [TACTICAL_TRIGGER_BODY, TACTICAL_RESOLVED_BODY]


def test_creating_an_integration_shows_its_secret_once(
    client: TestClient, tenant: TenantFixture
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    token = log_in(client, tenant.admin.email)
    no_provider = client.post(
        "/integrations", data={"name": "X", "provider": "", "csrf_token": token}
    )
    assert no_provider.status_code == 422
    assert "choose a provider" in no_provider.text

    created = client.post(
        "/integrations",
        data={
            "provider": "tacticalrmm",
            "name": "Tactical",
            "default_client_id": client_id,
            "csrf_token": token,
        },
    )
    assert created.status_code == 200
    url = find(r'id="webhook-url" [^>]*value="([^"]+)"', created.text)
    secret = find(r'id="webhook-secret" [^>]*value="([^"]+)"', created.text)
    assert url.startswith("http://testserver/api/v1/webhooks/")
    assert secret.startswith("fwh_")
    shown = [
        html.unescape(b)
        for b in re.findall(
            r'data-testid="tactical-(?:trigger|resolved)">(.*?)</pre>', created.text, re.S
        )
    ]
    assert shown == doc_templates()
    assert f'"X-Fleetward-Token": "{secret}"' in html.unescape(created.text)

    integration_id = url.rsplit("/", 1)[1]
    detail = client.get(f"/integrations/{integration_id}")
    assert secret not in detail.text
    assert "Contoso" in detail.text
    # The templates are on the integration's page too, with a placeholder for the secret.
    assert '"X-Fleetward-Token": "&lt;webhook secret&gt;"' in detail.text
    assert 'data-testid="tactical-trigger"' in detail.text
    # The secret shown is the one that works.
    ok = client.post(
        f"/api/v1/webhooks/{integration_id}",
        json={"event": "trigger"},
        headers={"X-Fleetward-Token": secret},
    )
    assert ok.status_code == 400  # authenticated; the body lacks fields

    rotated = client.post(
        f"/integrations/{integration_id}/rotate-secret", data={"csrf_token": token}
    )
    new_secret = find(r'id="webhook-secret" [^>]*value="([^"]+)"', rotated.text)
    assert new_secret.startswith("fwh_") and new_secret != secret
    assert "only this once" in rotated.text
    assert new_secret not in client.get(f"/integrations/{integration_id}").text


def test_a_rotated_secret_takes_effect_at_once(client: TestClient, tenant: TenantFixture) -> None:
    integration = make_integration(client, tenant, "generic")
    assert post(client, integration, {}).status_code == 400  # accepted secret, cached
    token = log_in(client, tenant.admin.email)
    rotated = client.post(
        f"/integrations/{integration['id']}/rotate-secret", data={"csrf_token": token}
    )
    new_secret = find(r'id="webhook-secret" [^>]*value="([^"]+)"', rotated.text)
    assert post(client, integration, {}).status_code == 401
    assert post(client, {**integration, "webhook_secret": new_secret}, {}).status_code == 400


def test_mappings_devices_and_dead_letters(client: TestClient, tenant: TenantFixture) -> None:
    contoso = make_client(client, tenant, "Contoso")
    fabrikam = make_client(client, tenant, "Fabrikam")
    integration = make_integration(client, tenant, "generic")
    iid = integration["id"]
    token = log_in(client, tenant.admin.email)

    mapped = client.post(
        f"/integrations/{iid}/mappings",
        data={"external_org_id": "org-7", "client_id": contoso, "csrf_token": token},
    )
    assert flash(mapped) == "Organisation “org-7” mapped."
    again = client.post(
        f"/integrations/{iid}/mappings",
        data={"external_org_id": "org-7", "client_id": fabrikam, "csrf_token": token},
    )
    assert again.status_code == 409
    assert "mapped already" in again.text

    device = {"external_id": "srv-9", "name": "Nine", "external_org_id": "org-7"}
    assert post(client, integration, trigger("t1", device=device)).status_code == 200
    refused = post(client, integration, {"kind": "triggered"})
    assert refused.status_code == 400

    page = client.get(f"/integrations/{iid}")
    asset_id = find(rf'action="/integrations/{iid}/assets/([0-9a-f-]+)"', page.text)
    assigned = client.post(
        f"/integrations/{iid}/assets/{asset_id}", data={"client_id": fabrikam, "csrf_token": token}
    )
    assert flash(assigned) == "Device “Nine” now follows the chosen client."
    asset = api(client, tenant, "GET", f"/api/v1/integrations/{iid}/assets")["items"][0]
    assert asset["client_id"] == fabrikam

    letter_id = find(rf'action="/integrations/{iid}/dead-letters/([0-9a-f-]+)/replay"', page.text)
    assert "missing field" in html.unescape(page.text) or "external_alert_id" in page.text
    replayed = client.post(
        f"/integrations/{iid}/dead-letters/{letter_id}/replay", data={"csrf_token": token}
    )
    assert flash(replayed).startswith("Replayed: failed (")

    mapping_id = find(rf'action="/integrations/{iid}/mappings/([0-9a-f-]+)/delete"', page.text)
    deleted = client.post(
        f"/integrations/{iid}/mappings/{mapping_id}/delete", data={"csrf_token": token}
    )
    assert flash(deleted) == "Mapping deleted."
    mappings = deleted.text.split('id="mappings"')[1].split('id="assets"')[0]
    assert "org-7" not in mappings and "No mappings." in mappings
