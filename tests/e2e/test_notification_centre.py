"""The notification centre in a real browser: the top bar's unread count, marking
read from the centre, and saving preferences."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.services.notifications import notify
from tests.e2e.conftest import LiveServer, log_in


def send(live_server: LiveServer, title: str) -> None:
    actor = live_server.tenant.readonly
    with SqlUnitOfWork(live_server.container.db).write() as repos:
        notify(
            repos, actor.tenant_id, [actor.user_id], "alert.matched", title,
            "Device: PC-7\nClient: Contoso", "alert", uuid.uuid4(), datetime.now(UTC),
        )  # fmt: skip


def test_the_badge_counts_down_as_notifications_are_read(
    page: Page, live_server: LiveServer
) -> None:
    first, second = f"Disk full {uuid.uuid4().hex[:6]}", f"CPU high {uuid.uuid4().hex[:6]}"
    send(live_server, first)
    send(live_server, second)
    log_in(page, live_server.tenant.readonly.email)
    badge = page.get_by_test_id("unread-count")
    expect(badge).to_have_text("2")

    page.get_by_test_id("notifications-link").click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=first)
    expect(row).to_contain_text("Device: PC-7")
    expect(row).to_contain_text("email: pending")  # this server runs no jobs
    row.get_by_role("button", name=f"Mark {first} read").click()
    expect(page.get_by_role("status")).to_have_text("Marked read.")
    expect(badge).to_have_text("1")

    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_test_id("unread-count")).to_have_count(0)


def test_preferences_are_saved_from_the_form(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server.tenant.operator.email)
    page.goto("/notifications/preferences")
    email_box = page.get_by_label("A rule matched an alert by E-mail")
    expect(email_box).to_be_checked()
    email_box.uncheck()
    page.get_by_label("A rule matched an alert by Chat").check()
    page.get_by_label("Service").select_option("teams")
    page.get_by_label("Incoming webhook URL").fill("https://example.webhook.office.com/x/secret")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Preferences saved.")
    expect(page.get_by_label("A rule matched an alert by E-mail")).not_to_be_checked()
    expect(page.get_by_label("A rule matched an alert by Chat")).to_be_checked()
    expect(page.get_by_text("Saved for https://example.webhook.office.com/…")).to_be_visible()
