"""The search box in the top bar and the /search page."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.integration.test_tickets_api import new_ticket
from tests.support.pipeline import make_client

pytestmark = pytest.mark.sqlite_only


def count(page_text: str, kind: str) -> str:
    found = re.search(rf'data-testid="count-{kind}">([^<]*)<', page_text)
    assert found, f"no count of {kind}"
    return found.group(1)


def links(page_text: str, kind: str) -> list[str]:
    section = page_text.split(f'data-testid="search-{kind}"', 1)[1].split("</section>", 1)[0]
    return [
        html.unescape(t) for t in re.findall(r'<a href="[^"]+" class="strong">([^<]*)</a>', section)
    ]


def test_every_page_has_the_search_box(client: TestClient, tenant: TenantFixture) -> None:
    log_in(client, tenant.operator.email)
    page = client.get("/alerts")
    assert '<form role="search" action="/search" method="get"' in page.text
    assert 'id="global-search" type="search" name="q" placeholder="Search (/)"' in page.text
    assert '<label for="global-search" class="visually-hidden">Search</label>' in page.text


def test_results_are_grouped_by_kind_with_counts_and_links(
    client: TestClient, tenant: TenantFixture
) -> None:
    client_id = make_client(client, tenant, "Gecko Dental")
    ticket = new_ticket(client, tenant.admin, title="Gecko: mail quota")
    log_in(client, tenant.readonly.email)

    page = client.get("/search", params={"q": "  GECKO "})

    assert page.status_code == 200
    assert count(page.text, "tickets") == "1"
    assert count(page.text, "clients") == "1"
    assert count(page.text, "alerts") == "0"
    assert links(page.text, "tickets") == [f"#{ticket['number']} Gecko: mail quota"]
    assert f'href="/tickets/{ticket["id"]}"' in page.text
    assert f'href="/clients/{client_id}"' in page.text
    assert "No alerts match." in page.text
    assert 'value="GECKO"' in page.text  # the box keeps the query


def test_more_than_ten_hits_link_to_all_of_that_kind(
    client: TestClient, tenant: TenantFixture
) -> None:
    for i in range(12):
        make_client(client, tenant, f"Ibex {i:02d}")
    log_in(client, tenant.operator.email)

    page = client.get("/search", params={"q": "ibex"})
    assert count(page.text, "clients") == "12"
    assert len(links(page.text, "clients")) == 10
    show_all = re.search(
        r'href="([^"]+)" data-testid="show-all-clients">Show all 12 clients', page.text
    )
    assert show_all, "no show-all link"

    everything = client.get(html.unescape(show_all.group(1)))
    assert links(everything.text, "clients") == [f"Ibex {i:02d}" for i in range(12)]
    assert 'data-testid="search-tickets"' not in everything.text


def test_a_hash_and_number_goes_straight_to_the_ticket(
    client: TestClient, tenant: TenantFixture
) -> None:
    ticket = new_ticket(client, tenant.admin, title="VPN drops")
    log_in(client, tenant.operator.email)

    jump = client.get("/search", params={"q": f"#{ticket['number']}"}, follow_redirects=False)
    assert jump.status_code == 303
    assert jump.headers["location"] == f"/tickets/{ticket['id']}"
    # A bare number may be text too: the ticket is named first, the rest still listed.
    listed = client.get("/search", params={"q": str(ticket["number"])})
    assert listed.status_code == 200
    assert 'data-testid="search-ticket"' in listed.text
    assert links(listed.text, "tickets")[0] == f"#{ticket['number']} VPN drops"
    missing = client.get("/search", params={"q": "#987654"})
    assert missing.status_code == 200
    assert count(missing.text, "tickets") == "0"


def test_a_bad_query_is_answered_on_the_page(client: TestClient, tenant: TenantFixture) -> None:
    log_in(client, tenant.operator.email)
    too_long = client.get("/search", params={"q": "y" * 101})
    assert too_long.status_code == 422
    assert "q must be at most 100 characters" in too_long.text
    assert 'aria-invalid="true"' in too_long.text
    bad_kind = client.get("/search", params={"q": "y", "kind": "nope"})
    assert bad_kind.status_code == 422
    assert "kind must be one of" in bad_kind.text
    empty = client.get("/search", params={"q": "  "})
    assert empty.status_code == 200
    assert 'data-testid="search-tickets"' not in empty.text
    assert client.get("/search", params={"q": "x"}, follow_redirects=False).status_code == 200
