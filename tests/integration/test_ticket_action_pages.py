"""Working a ticket from the dashboard: assigning it (to me from the list, to a colleague
on its page), editing its title and description, and its history on its page with
who changed what and when; read-only users and other tenants get nothing of it."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.errors import NotFound
from fleetward.domain.identity import Principal, Role
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.pages import api, flash, forms, setup_pipeline

pytestmark = pytest.mark.sqlite_only


def ticket_of(client: TestClient, tenant: TenantFixture, ticket_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api(client, tenant, "GET", f"/api/v1/tickets/{ticket_id}")
    return found


def history(page_text: str) -> list[str]:
    """The lines of the ticket page's History section, as text."""
    section = page_text.split('id="history-heading"', 1)[1].split("</section>", 1)[0]
    items = re.findall(r"<li>(.*?)</li>", section, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]


def test_an_operator_assigns_a_ticket_to_themselves_from_the_list(
    client: TestClient, tenant: TenantFixture
) -> None:
    ticket_id = setup_pipeline(client, tenant)["alert"]["ticket_id"]
    token = log_in(client, tenant.operator.email)
    listing = client.get("/tickets?state=open")
    assert f"/tickets/{ticket_id}/assign" in forms(listing)

    back = "/tickets?state=open"
    done = client.post(
        f"/tickets/{ticket_id}/assign", data={"csrf_token": token, "me": "1", "back": back}
    )
    assert done.status_code == 200  # followed back to the list, its filters kept
    assert str(done.url).endswith(back)
    assert flash(done) == "Ticket #1 assigned to you."
    assert ticket_of(client, tenant, ticket_id)["assignee_id"] == str(tenant.operator.user_id)
    # Mine now: the row says so and offers no "Assign to me".
    assert f"/tickets/{ticket_id}/assign" not in forms(done)
    assert re.search(r'<span class="strong">you</span>', done.text)

    page = client.get(f"/tickets/{ticket_id}")
    assert history(page.text)[-1].endswith(
        f"{tenant.operator.email} assigned it to {tenant.operator.email}"
    )


def test_an_admin_assigns_a_colleague_and_unassigns_on_the_ticket_page(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    ticket_id = setup_pipeline(client, tenant)["alert"]["ticket_id"]
    token = log_in(client, tenant.admin.email)
    page = client.get(f"/tickets/{ticket_id}")
    assert f"/tickets/{ticket_id}/assign" in forms(page)
    assert f'<option value="{tenant.operator.user_id}">' in page.text

    url = f"/tickets/{ticket_id}/assign"
    operator = str(tenant.operator.user_id)
    done = client.post(url, data={"csrf_token": token, "assignee_id": operator})
    assert flash(done) == f"Ticket #1 assigned to {tenant.operator.email}."
    assert str(done.url).endswith(f"/tickets/{ticket_id}")
    assert ticket_of(client, tenant, ticket_id)["assignee_id"] == operator

    # Someone of another tenant is nobody here: refused, naming the field, nothing changed.
    stranger = str(other_tenant.operator.user_id)
    refused = client.post(url, data={"csrf_token": token, "assignee_id": stranger})
    assert refused.status_code == 422
    assert "assignee_id names no user of yours" in refused.text
    assert ticket_of(client, tenant, ticket_id)["assignee_id"] == operator

    cleared = client.post(url, data={"csrf_token": token, "assignee_id": ""})
    assert flash(cleared) == "Ticket #1 unassigned."
    assert ticket_of(client, tenant, ticket_id)["assignee_id"] is None
    lines = history(cleared.text)
    assert lines[-2].endswith(f"{tenant.admin.email} assigned it to {tenant.operator.email}")
    assert lines[-1].endswith(f"{tenant.admin.email} unassigned it from {tenant.operator.email}")


def test_title_and_description_are_edited_on_the_ticket_page(
    client: TestClient, tenant: TenantFixture
) -> None:
    ticket_id = setup_pipeline(client, tenant)["alert"]["ticket_id"]
    old_title = ticket_of(client, tenant, ticket_id)["title"]
    token = log_in(client, tenant.operator.email)
    assert f"/tickets/{ticket_id}/edit" in forms(client.get(f"/tickets/{ticket_id}"))

    url = f"/tickets/{ticket_id}/edit"
    text = "Line one\r\nLine two"
    saved = client.post(url, data={"csrf_token": token, "title": "Disk full", "description": text})
    assert flash(saved) == "Ticket #1 saved."
    after = ticket_of(client, tenant, ticket_id)
    assert (after["title"], after["description"]) == ("Disk full", "Line one\nLine two")
    assert history(saved.text)[-1].endswith(
        f"{tenant.operator.email} edited the description; title “{old_title}” → “Disk full”"
    )

    # An empty title is refused and the form comes back with what was typed.
    refused = client.post(url, data={"csrf_token": token, "title": " ", "description": "Kept"})
    assert refused.status_code == 422
    assert "title must not be empty" in refused.text
    assert "Kept</textarea>" in refused.text
    assert ticket_of(client, tenant, ticket_id)["description"] == "Line one\nLine two"


def test_every_status_change_shows_in_the_history_with_who(
    client: TestClient, tenant: TenantFixture
) -> None:
    ticket_id = setup_pipeline(client, tenant)["alert"]["ticket_id"]
    board_id = ticket_of(client, tenant, ticket_id)["board_id"]
    listed = api(client, tenant, "GET", f"/api/v1/boards/{board_id}/statuses")["items"]
    statuses = {s["name"]: s["id"] for s in listed}
    token = log_in(client, tenant.operator.email)
    url = f"/tickets/{ticket_id}/status"
    priority = ticket_of(client, tenant, ticket_id)["priority_id"] or ""
    for name in ("In progress", "Closed", "New"):
        data = {"csrf_token": token, "status_id": statuses[name], "priority_id": priority}
        client.post(url, data=data)
    page = client.get(f"/tickets/{ticket_id}")
    who = tenant.operator.email
    ends = [line.split(f"{who} ", 1)[1] for line in history(page.text)[-3:]]
    assert ends == [
        "status New → In progress",
        "closed the ticket; status In progress → Closed",
        "reopened the ticket; status Closed → New",
    ]


def test_read_only_users_get_no_forms_and_403(client: TestClient, tenant: TenantFixture) -> None:
    ticket_id = setup_pipeline(client, tenant)["alert"]["ticket_id"]
    token = log_in(client, tenant.readonly.email)
    assert forms(client.get("/tickets")) == []
    assert forms(client.get(f"/tickets/{ticket_id}")) == []
    for path, data in (
        (f"/tickets/{ticket_id}/assign", {"me": "1"}),
        (f"/tickets/{ticket_id}/edit", {"title": "Mine now", "description": ""}),
    ):
        refused = client.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 403, path
    after = ticket_of(client, tenant, ticket_id)
    assert after["assignee_id"] is None and after["title"] != "Mine now"


def test_another_tenants_ticket_is_404_and_its_history_unreadable(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture, container: Container
) -> None:
    theirs = setup_pipeline(client, other_tenant)["alert"]["ticket_id"]
    token = log_in(client, tenant.admin.email)
    for path, data in (
        (f"/tickets/{theirs}/assign", {"me": "1"}),
        (f"/tickets/{theirs}/edit", {"title": "Mine now", "description": ""}),
    ):
        refused = client.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 404, path
    after = ticket_of(client, other_tenant, theirs)
    assert after["assignee_id"] is None and after["title"] != "Mine now"
    # The service reads a history only in the reader's own tenant.
    admin = Principal(tenant.id, tenant.admin.user_id, tenant.admin.email, Role.ADMIN)
    with pytest.raises(NotFound):
        container.tickets.history(admin, uuid.UUID(theirs))
