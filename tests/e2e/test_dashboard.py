"""The dashboard in a real browser: what a person logging in would notice."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, log_in

pytestmark = pytest.mark.browser


# The login form that goes on to the clients page, where these tests start.
CLIENTS_LOGIN = "/login?next=%2Fclients"


def unique(prefix: str) -> str:
    # The server and its database last the whole session: names must not collide.
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(rf"^http://127\.0\.0\.1:\d+{re.escape(path)}$")


def create_client(page: Page, name: str, notes: str = "") -> None:
    form = page.get_by_role("form", name="New client")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Notes").fill(notes)
    form.get_by_role("button", name="Create client").click()


def test_wrong_password_shows_the_error_and_stays_on_login(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server.tenant.admin.email, "not the password at all")
    expect(page.get_by_role("alert")).to_have_text("wrong e-mail address or password")
    expect(page).to_have_url(path_is("/login"))
    # The address is kept, so only the password needs typing again.
    expect(page.get_by_label("E-mail address")).to_have_value(live_server.tenant.admin.email)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_admin_lands_on_the_overview_with_navigation(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server.tenant.admin.email)
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    expect(page.get_by_test_id("whoami")).to_have_text(re.compile(r"admin@acme-msp\.test\s+admin"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users")).to_be_visible()


def test_create_edit_and_delete_a_client(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server.tenant.operator.email, path=CLIENTS_LOGIN)
    name = unique("Contoso")
    create_client(page, name, "Key account\nCall before 10:00")
    expect(page.get_by_role("status")).to_have_text(f"Client “{name}” created.")
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("Call before 10:00")

    row.get_by_role("link", name=f"Edit {name}").click()
    expect(page.get_by_role("heading", name="Edit client")).to_be_visible()
    renamed = unique("Contoso Ltd")
    page.get_by_label("Name").fill(renamed)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(path_is("/clients"))
    expect(page.get_by_role("status")).to_have_text(f"Client “{renamed}” saved.")
    expect(page.get_by_role("row").filter(has_text=renamed)).to_have_count(1)
    expect(page.get_by_role("cell", name=name, exact=True)).to_have_count(0)

    page.get_by_role("link", name=f"Delete {renamed}").click()
    page.get_by_role("button", name=f"Delete {renamed}").click()
    expect(page.get_by_role("status")).to_have_text(f"Client “{renamed}” deleted.")
    expect(page.get_by_role("row").filter(has_text=renamed)).to_have_count(0)


def test_a_duplicate_client_name_shows_the_error_and_keeps_the_input(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server.tenant.admin.email, path=CLIENTS_LOGIN)
    name = unique("Initech")
    create_client(page, name)
    expect(page.get_by_role("status")).to_be_visible()
    create_client(page, name, "second try")
    expect(page.get_by_role("alert")).to_have_text(f"A client named “{name}” already exists.")
    form = page.get_by_role("form", name="New client")
    expect(form.get_by_label("Notes")).to_have_value("second try")
    expect(page.get_by_role("row").filter(has_text=name)).to_have_count(1)


def test_admin_creates_an_operator_who_can_then_log_in(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server.tenant.admin.email)
    # The nav is boosted by HTMX: following it must land on a working page too.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page).to_have_url(path_is("/users"))
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()

    email = f"{unique('op').replace(' ', '-')}@acme-msp.test"
    form = page.get_by_role("form", name="New user")
    form.get_by_label("E-mail address").fill(email)
    form.get_by_label("Display name").fill("Olga Operator")
    form.get_by_label("Role").select_option("operator")
    form.get_by_label("Password").fill("a long enough password")
    form.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_have_text(f"User {email} created as operator.")
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("Olga Operator")
    expect(row).to_contain_text("operator")

    page.get_by_role("button", name="Log out").click()
    log_in(page, email, "a long enough password", path="")
    expect(page).to_have_url(path_is("/"))
    page.goto("/clients")
    expect(page.get_by_role("form", name="New client")).to_be_visible()
    # Operators write but do not administer: no Users entry.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)


def test_readonly_sees_no_create_form_and_is_refused_the_users_page(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server.tenant.readonly.email, path=CLIENTS_LOGIN)
    expect(page.get_by_role("heading", name="Clients", exact=True)).to_be_visible()
    expect(page.get_by_role("form", name="New client")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)

    response = page.goto("/users")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_logout_returns_to_login_and_clients_needs_login_again(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server.tenant.admin.email, path=CLIENTS_LOGIN)
    expect(page).to_have_url(path_is("/clients"))
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(path_is("/login"))
    expect(page.get_by_role("status")).to_have_text("You have logged out.")
    assert not [c for c in page.context.cookies() if c["name"] == "fw_session"]

    page.goto("/clients")
    expect(page).to_have_url(path_is("/login?next=%2Fclients"))


def test_login_brings_you_back_to_the_page_you_asked_for(
    page: Page, live_server: LiveServer
) -> None:
    # /users rather than /: / is where a login lands anyway.
    page.goto("/users")
    expect(page).to_have_url(path_is("/login?next=%2Fusers"))
    log_in(page, live_server.tenant.admin.email, path="")
    expect(page).to_have_url(path_is("/users"))
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
