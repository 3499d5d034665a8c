"""The notification centre in the dashboard: the unread badge on every page, the list
with each copy's delivery, marking read, and the preferences form."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.bootstrap import Container
from fleetward.services.notifications import notify
from tests.conftest import Actor, TenantFixture
from tests.integration.test_pages import csrf_of, log_in
from tests.support.aio import run_coroutine

pytestmark = pytest.mark.sqlite_only

BADGE = re.compile(r'data-testid="unread-count"[^>]*>(\d+)<')


def send(container: Container, actor: Actor, title: str) -> uuid.UUID:
    with SqlUnitOfWork(container.db).write() as repos:
        (notification_id,) = notify(
            repos,
            actor.tenant_id,
            [actor.user_id],
            "alert.matched",
            title,
            "Device: PC-7\nSeverity: critical",
            "alert",
            uuid.uuid4(),
            datetime.now(UTC),
        )
    return notification_id


def badge(client: TestClient, path: str = "/clients") -> int:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = BADGE.search(page.text)
    return int(found.group(1)) if found else 0


def test_the_top_bar_counts_unread_notifications_on_every_page(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    log_in(client, tenant.operator.email)
    assert badge(client) == 0
    send(container, tenant.operator, "Disk full on PC-7")
    send(container, tenant.operator, "CPU high on PC-8")
    send(container, tenant.admin, "Not the operator's")
    for path in ("/clients", "/alerts", "/tickets", "/notifications"):
        assert badge(client, path) == 2


def test_the_centre_lists_deliveries_and_marks_read(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    mine = send(container, tenant.operator, "Disk full on PC-7")
    send(container, tenant.operator, "CPU high on PC-8")
    theirs = send(container, tenant.admin, "Admin's own")
    run_coroutine(container.jobs.run_until_idle())  # no SMTP server here: e-mail fails
    csrf = log_in(client, tenant.operator.email)

    page = client.get("/notifications")
    assert "Disk full on PC-7" in page.text and "CPU high on PC-8" in page.text
    assert "Admin&#39;s own" not in page.text and "Admin's own" not in page.text
    assert "email: failed" in page.text
    assert "e-mail is not configured" in page.text
    assert "Device: PC-7" in page.text

    marked = client.post(
        f"/notifications/{mine}/read", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert marked.status_code == 303
    assert badge(client) == 1
    unread_page = client.get("/notifications?unread=true")
    assert "Disk full on PC-7" not in unread_page.text and "CPU high on PC-8" in unread_page.text

    refused = client.post(f"/notifications/{theirs}/read", data={"csrf_token": csrf})
    assert refused.status_code == 404
    without_token = client.post("/notifications/read-all", follow_redirects=False)
    assert without_token.status_code == 403
    assert badge(client) == 1
    client.post("/notifications/read-all", data={"csrf_token": csrf})
    assert badge(client) == 0
    client.cookies.clear()
    log_in(client, tenant.admin.email)
    assert badge(client) == 1  # the admin's own is still unread


def test_the_preferences_form_saves_each_channel_and_hides_the_chat_url(
    client: TestClient, tenant: TenantFixture
) -> None:
    log_in(client, tenant.operator.email)
    page = client.get("/notifications/preferences")
    assert page.status_code == 200
    checked = re.findall(r'name="(\w+)" value="([\w.]+)"[^>]*checked', page.text)
    kinds = ["alert.matched", "ticket.retriggered", "alert.flapping"]
    assert sorted(checked) == sorted([(c, k) for c in ("in_app", "email") for k in kinds])

    bad = client.post(
        "/notifications/preferences",
        data={
            "csrf_token": csrf_of(page),
            "in_app": kinds,
            "chat": ["alert.matched"],
            "chat_kind": "slack",
            "target": "ftp://hooks.example/x",
        },
    )
    assert bad.status_code == 422
    assert "chat.target" in bad.text

    secret_url = "https://hooks.slack.com/services/T0/B0/very-secret"
    saved = client.post(
        "/notifications/preferences",
        data={
            "csrf_token": csrf_of(page),
            "in_app": kinds,
            "email": ["alert.flapping"],
            "chat": ["alert.matched"],
            "chat_kind": "slack",
            "target": secret_url,
        },
    )
    assert saved.status_code == 200, saved.text
    assert "very-secret" not in saved.text
    assert "https://hooks.slack.com/…" in saved.text
    api = client.get(
        "/api/v1/users/me/notification-preferences", headers=tenant.operator.headers
    ).json()
    assert api["email"]["events"] == ["alert.flapping"]
    assert api["chat"]["events"] == ["alert.matched"]
    assert api["chat"]["chat_kind"] == "slack"

    # Saving again without a URL keeps the stored one.
    again = client.post(
        "/notifications/preferences",
        data={"csrf_token": csrf_of(page), "chat": ["alert.matched"], "chat_kind": "slack"},
    )
    assert again.status_code == 200
    assert (
        client.get(
            "/api/v1/users/me/notification-preferences", headers=tenant.operator.headers
        ).json()["chat"]["target"]
        == "https://hooks.slack.com/…"
    )
