"""A new client onboarded in the browser, from creating it to the command that enrols
its first machine (issue #16, part 4)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import LiveServer, log_in

pytestmark = pytest.mark.browser


def test_a_new_client_onboarded_in_the_browser_from_creation_to_an_enrolment_token(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    # The server lasts the whole session: names must not collide with other tests'.
    name = f"Umbrella {uuid.uuid4().hex[:6]}"
    log_in(page, live_server.tenant.admin.email, path="/login?next=%2Fclients")

    form = page.get_by_role("form", name="New client")
    form.get_by_label("Name").fill(name)
    form.get_by_role("button", name="Create client").click()
    expect(page.get_by_role("status")).to_have_text(f"Client “{name}” created.")
    page.get_by_role("row").filter(has_text=name).get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_text("No sites yet.")).to_be_visible()

    new_site = page.get_by_role("form", name="New site")
    new_site.get_by_label("Name").fill("Head office")
    new_site.get_by_label("Address").fill("1 Main Street")
    new_site.get_by_role("button", name="Add site").click()
    expect(page.get_by_role("status")).to_have_text("Site “Head office” added.")

    rename = page.get_by_role("form", name="Rename site Head office")
    rename.get_by_label("Site name").fill("HQ")
    rename.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("status")).to_have_text("Site renamed to “HQ”.")
    site = page.get_by_role("region", name="HQ", exact=True)
    expect(site.get_by_text("0 agents · 0 tokens")).to_be_visible()

    minting = page.get_by_role("form", name="New enrolment token for HQ")
    minting.get_by_label("Token name").fill("First laptops")
    minting.get_by_label("Valid for").select_option(label="30 days")
    minting.get_by_role("button", name="Create token").click()

    expect(page.get_by_text("shown only this once")).to_be_visible()
    secret = page.get_by_test_id("token-secret").input_value()
    assert secret.startswith("fwe_")
    command = page.get_by_test_id("token-command")
    expect(command).to_have_value(
        f"fleetward agent run --server {live_server.url} --token {secret}"
    )
    copy = page.get_by_role("button", name="Copy command")
    expect(copy).to_have_attribute("data-copy", "token-command")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == command.input_value()
    tokens = page.get_by_role("table", name="Enrolment tokens of HQ")
    expect(tokens.get_by_role("row").filter(has_text="First laptops")).to_contain_text("active")

    # A second site, deleted after the page says what goes with it.
    new_site = page.get_by_role("form", name="New site")
    new_site.get_by_label("Name").fill("Warehouse")
    new_site.get_by_role("button", name="Add site").click()
    expect(page.get_by_role("status")).to_have_text("Site “Warehouse” added.")
    page.get_by_role("link", name="Delete site Warehouse").click()
    expect(page.get_by_role("heading", name="Delete site?")).to_be_visible()
    expect(page.get_by_test_id("site-holdings")).to_contain_text("no agents")
    page.get_by_role("button", name="Delete Warehouse").click()
    expect(page.get_by_role("status")).to_have_text("Site “Warehouse” deleted.")
    expect(page.get_by_role("region", name="Warehouse", exact=True)).to_have_count(0)
    expect(page.get_by_role("region", name="HQ", exact=True)).to_be_visible()
    # The secret was in that one answer only.
    expect(page.get_by_test_id("token-secret")).to_have_count(0)
    assert secret not in page.content()
    expect(page).to_have_url(re.compile(r"/clients/[0-9a-f-]{36}#sites$"))
