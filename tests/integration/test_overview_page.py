"""The overview at `/` over HTTP: where a login lands, what it counts, and that every
number leads to a list showing exactly that many."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from fleetward.adapters.storage import schema
from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in, post_login
from tests.support.agents import enrolled_agent
from tests.support.pages import api, trigger
from tests.support.pipeline import make_client, make_integration, post

pytestmark = pytest.mark.sqlite_only


def figure(page: Response, testid: str) -> tuple[str, int]:
    """The link and the number of the figure marked `testid`."""
    link = rf'<a [^>]*href="([^"]+)"[^>]*data-testid="{re.escape(testid)}"[^>]*>'
    found = re.search(link + r'(?:<span class="figure-count">)?([\d,]+)', page.text)
    assert found, f"no figure {testid}"
    return html.unescape(found.group(1)), int(found.group(2).replace(",", ""))


def listed_alerts(client: TestClient, url: str) -> int:
    page = client.get(url)
    assert page.status_code == 200, url
    return len(re.findall(r'<a href="/alerts/[0-9a-f-]{36}" class="strong', page.text))


def listed_tickets(client: TestClient, url: str) -> int:
    page = client.get(url)
    assert page.status_code == 200, url
    return len(re.findall(r'<a href="/tickets/[0-9a-f-]{36}" class="strong[ "]', page.text))


def back_date(container: Container, table: Any, row_id: str, **values: Any) -> None:
    with container.pipeline.uow.write() as repos:
        repos.conn.execute(update(table).where(table.c.id == uuid.UUID(row_id)).values(**values))


def test_anonymous_goes_to_login_and_a_login_lands_on_the_overview(
    client: TestClient, tenant: TenantFixture
) -> None:
    anonymous = client.get("/", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login?next=%2F")
    landed = post_login(client, tenant.readonly.email)
    assert (landed.status_code, landed.headers["location"]) == (303, "/")
    page = client.get("/")
    assert page.status_code == 200
    assert "<h1>Overview</h1>" in page.text
    assert '<a href="/" aria-current="page">Overview</a>' in page.text
    nav = page.text.split('aria-label="Main">')[1].split("</nav>")[0]
    assert re.findall(r'<a href="([^"]+)"', nav)[0] == "/"
    assert 'id="overview" data-live="30"' in page.text and "data-live-updated" in page.text


def test_every_number_links_to_a_list_of_exactly_that_many(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture, container: Container
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    integration = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    api(client, tenant, "POST", "/api/v1/alert-rules", json={"name": "Catch all"})
    ids = []
    for number, severity in enumerate(("critical", "critical", "critical", "major", "minor")):
        answer = post(client, integration, trigger(f"a{number}", severity=severity))
        ids.append(answer.json()["alert_id"])
    api(client, tenant, "POST", f"/api/v1/alerts/{ids[0]}/acknowledge")
    api(client, tenant, "POST", f"/api/v1/alerts/{ids[4]}/resolve")
    unmapped = make_integration(client, tenant, "generic")
    post(client, unmapped, trigger("u1", severity="major"))
    # Another tenant's alerts, tickets and agents count nowhere here.
    theirs = make_integration(client, other_tenant, "generic")
    post(client, theirs, trigger("t1", severity="critical"))
    enrolled_agent(client, other_tenant, "THEIRS")
    mine = api(
        client,
        tenant,
        "POST",
        "/api/v1/tickets",
        json={"title": "Mine", "assignee_id": str(tenant.admin.user_id)},
    )
    back_date(
        container, schema.ticket, mine["id"], created_at=datetime.now(UTC) - timedelta(days=9)
    )
    enrolled_agent(client, tenant, "WS-1")
    log_in(client, tenant.admin.email)

    page = client.get("/")
    expected_alerts = {
        "unacknowledged-criticals": 2,
        "open-alerts": 5,
        "open-alerts-critical": 3,
        "open-alerts-major": 2,
        "open-alerts-minor": 0,
        f"open-alerts-client-{client_id}": 4,
    }
    for testid, count in expected_alerts.items():
        url, shown = figure(page, testid)
        assert shown == count, testid
        assert listed_alerts(client, url) == count, (testid, url)
    url, shown = figure(page, "open-alerts-client-none")
    assert (url, shown) == ("/triage", 1)

    # Two tickets: the one the rule opened for the device's condition (under an hour
    # old) and mine (nine days).
    expected_tickets = {"open-tickets": 2, "tickets-age-lt1h": 1, "tickets-age-gt7d": 1}
    expected_tickets |= {"tickets-age-1h-24h": 0, "my-tickets": 1}
    for testid, count in expected_tickets.items():
        url, shown = figure(page, testid)
        assert shown == count, testid
        assert listed_tickets(client, url) == count, (testid, url)

    url, offline = figure(page, "agents-offline")
    assert (url, offline) == ("/agents?state=offline", 0)  # it enrolled just now
    assert "agents offline of 1" in page.text


def test_integrations_failing_and_silent_link_to_the_integrations_list_of_them(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    quiet = make_integration(client, tenant, "generic")
    busy = make_integration(client, tenant, "generic")
    post(client, busy, trigger("b1"))
    for made in (quiet, busy):
        back_date(
            container,
            schema.integration,
            made["id"],
            created_at=datetime.now(UTC) - timedelta(days=8),
        )
    log_in(client, tenant.admin.email)

    page = client.get("/")
    url, silent = figure(page, "integrations-silent")
    assert (url, silent) == ("/integrations?health=silent", 1)
    listed = client.get(url)
    assert f'href="/integrations/{quiet["id"]}"' in listed.text
    assert f'href="/integrations/{busy["id"]}"' not in listed.text
    assert (
        f'<a href="/integrations/{quiet["id"]}">{quiet["name"]}</a>: nothing received' in page.text
    )
    url, failing = figure(page, "integrations-failing")
    assert (url, failing) == ("/integrations?health=failing", 0)
    assert "No failing integrations." in client.get(url).text


def test_the_charts_are_images_with_their_numbers_as_text(
    client: TestClient, tenant: TenantFixture
) -> None:
    integration = make_integration(client, tenant, "generic")
    now = datetime.now(UTC)
    post(client, integration, trigger("c1", occurred_at=now.isoformat()))
    log_in(client, tenant.admin.email)
    page = client.get("/")
    assert page.text.count('role="img"') == 2
    labels = re.findall(r'<svg class="bars" role="img" aria-label="([^"]+)"', page.text)
    assert labels[0].startswith("Alerts per day (by when they occurred),")
    assert "1 in all" in labels[0] and "0 in all" in labels[1]
    # The day's number links to the alerts of that day (on the reader's clock, here UTC).
    day = now.strftime("%Y-%m-%d")
    link = re.search(r'<a href="(/alerts\?since=' + day + r'[^"]+)">1</a>', page.text)
    assert link, "no link for today's alerts"
    assert listed_alerts(client, html.unescape(link.group(1))) == 1


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/tickets?age=forever", "age must be one of"),
        ("/tickets?assignee=you", "assignee is not an id"),
        ("/integrations?health=meh", "health must be failing or silent"),
        ("/alerts?status=opened", "status 'opened' is not one of the choices"),
    ],
)
def test_the_new_list_filters_refuse_unknown_values_naming_them(
    client: TestClient, tenant: TenantFixture, path: str, field: str
) -> None:
    log_in(client, tenant.readonly.email)
    refused = client.get(path)
    assert refused.status_code == 422
    assert field in html.unescape(refused.text)
