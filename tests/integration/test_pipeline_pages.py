"""The alert pipeline's dashboard pages over HTTP: what they show, who may write, isolation.

The rule and maintenance-window editors are in test_rule_pages.py, the integrations'
pages in test_integration_pages.py.
"""

from __future__ import annotations

import html
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.pages import api, find, flash, forms, setup_pipeline, trigger
from tests.support.pipeline import make_client, make_integration, post

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only


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
        for action in ("status", "assign", "edit", "comments", "time-entries")
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


def titles(page: str) -> list[str]:
    """The alert titles a list page shows, in its order."""
    return re.findall(r'<a href="/alerts/[^"]+" class="strong[^"]*"[^>]*>(T\d+)<', page)


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
    assert titles(minor.text) == ["T0"]
    early = client.get("/alerts", params={"until": "2026-01-15T00:00"})
    assert titles(early.text) == ["T0"]
    late = client.get("/alerts", params={"since": "2026-01-15T00:00", "status": "active"})
    assert len(titles(late.text)) == 50
    assert 'rel="next"' not in late.text

    first = client.get("/alerts", params={"client_id": client_id})
    assert len(titles(first.text)) == 50
    next_url = html.unescape(find(r'<a href="([^"]+)" rel="next"', first.text))
    assert f"client_id={client_id}" in next_url
    second = client.get(next_url)
    assert titles(second.text) == ["T0"]

    bad = client.get("/alerts", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "since: 'yesterday' is not a date and time" in html.unescape(bad.text)
    backwards = client.get(
        "/alerts", params={"since": "2026-02-01T00:00", "until": "2026-01-01T00:00"}
    )
    assert backwards.status_code == 422
    assert client.get("/alerts", params={"severity": "apocalyptic"}).status_code == 422


def test_alerts_sort_by_any_column_with_a_total_and_page_size(
    client: TestClient, tenant: TenantFixture
) -> None:
    integration = make_integration(client, tenant, "generic", {})
    for n, (severity, day) in enumerate(
        [("minor", "03"), ("critical", "01"), ("major", "04"), ("critical", "02")]
    ):
        body = trigger(f"s{n}", severity=severity, occurred_at=f"2026-03-{day}T10:00:00Z")
        assert post(client, integration, {**body, "title": f"T{n}"}).status_code == 200
    log_in(client, tenant.admin.email)

    by_time = client.get("/alerts", params={"sort": "occurred_at"})
    assert titles(by_time.text) == ["T1", "T3", "T0", "T2"]
    assert 'aria-sort="ascending"' in by_time.text
    assert "4 alerts" in by_time.text
    worst_first = client.get("/alerts", params={"sort": "-severity"})
    assert titles(worst_first.text)[:2] == ["T3", "T1"]  # equal severity: later id first
    assert titles(worst_first.text)[2:] == ["T2", "T0"]

    # Two per page, sorted by occurrence: the next page continues that order, and
    # keeps the sort and size in its link.
    first = client.get("/alerts", params={"sort": "-occurred_at", "limit": "2"})
    assert titles(first.text) == ["T2", "T0"]
    next_url = html.unescape(find(r'<a href="([^"]+)" rel="next"', first.text))
    assert "sort=-occurred_at" in next_url and "limit=2" in next_url
    assert titles(client.get(next_url).text) == ["T3", "T1"]
    # A cursor of one order is refused under another, naming the field.
    cursor = next_url.split("cursor=")[1]
    wrong = client.get("/alerts", params={"sort": "title", "cursor": cursor})
    assert wrong.status_code == 422 and "cursor" in wrong.text

    assert client.get("/alerts", params={"sort": "colour"}).status_code == 422
    assert client.get("/alerts", params={"limit": "100000"}).status_code == 422

    listed = api(client, tenant, "GET", "/api/v1/alerts?sort=-occurred_at&limit=3")
    assert [a["title"] for a in listed["items"]] == ["T2", "T0", "T3"]
    assert listed["total"] == 4
    refused = client.get("/api/v1/alerts?sort=colour", headers=tenant.admin.headers)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "sort"


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
