"""The dashboard's lists over HTTP: sort headers, totals, page sizes and filters
kept in every link, as a person bookmarking or sharing a list relies on.

The sort orders themselves run on both engines in test_list_sorts_api.py.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.agents import enroll, enrolled_agent, event, make_site, make_token
from tests.support.pages import api, find, setup_pipeline
from tests.support.pipeline import make_client

pytestmark = pytest.mark.sqlite_only

EVENTS = "/api/v1/agent/events"


def links(page: Response, rel: str = "next") -> str:
    return html.unescape(find(rf'<a href="([^"]+)" rel="{rel}"', page.text))


def sort_link(page: Response, key: str) -> str:
    return html.unescape(
        find(rf'<a href="([^"]+)" class="sort-link" data-testid="sort-{key}"', page.text)
    )


def total(page: Response) -> str:
    return " ".join(find(r'data-testid="list-total">([^<]*)</p>', page.text).split())


def ticket_numbers(page: Response) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-ticket="(\d+)"', page.text)]


def hostnames(page: Response) -> list[str]:
    return re.findall(
        r'<a href="/agents/[0-9a-f-]+" class="truncate" title="[^"]*">([^<]+)</a>', page.text
    )


def make_ticket(client: TestClient, tenant: TenantFixture, **body: Any) -> dict[str, Any]:
    made: dict[str, Any] = api(client, tenant, "POST", "/api/v1/tickets", json=body)
    return made


def test_tickets_sort_count_page_and_keep_their_filters(
    client: TestClient, tenant: TenantFixture
) -> None:
    contoso = make_client(client, tenant, "Contoso")
    me = api(client, tenant, "GET", "/api/v1/users")["items"]
    admin_id = next(u["id"] for u in me if u["email"] == tenant.admin.email)
    urgent = next(
        p["id"]
        for p in api(client, tenant, "GET", "/api/v1/priorities")["items"]
        if p["name"] == "Urgent"
    )
    long_title = "Printer on the third floor " + "keeps jamming " * 20
    for n in range(5):
        make_ticket(
            client,
            tenant,
            title=f"T{n} {long_title}" if n == 0 else f"T{n}",
            client_id=contoso if n % 2 == 0 else None,
            assignee_id=admin_id if n < 3 else None,
            priority_id=urgent if n == 1 else None,
        )
    log_in(client, tenant.admin.email)

    page = client.get("/tickets")
    assert page.status_code == 200
    assert ticket_numbers(page) == [5, 4, 3, 2, 1]
    assert total(page) == "5 tickets"
    # A long title stays on one line, whole in its title attribute.
    assert f'class="strong truncate title" title="T0 {long_title.strip()}' in html.unescape(
        page.text
    )
    # Under each title its client; who holds it is the Assignee column ("you").
    who = re.findall(r'data-testid="ticket-who">([^<]+)</div>', page.text)
    assert [html.unescape(w) for w in who] == [
        "Contoso",
        "no client",
        "Contoso",
        "no client",
        "Contoso",
    ]
    holders = re.findall(r'<td class="nowrap assignee-cell">\s*(?:<span[^>]*>)?([^<]+)<', page.text)
    assert [h.strip() for h in holders] == ["—", "—", "you", "you", "you"]
    assert 'id="ticket-list" data-live="15"' in page.text and "data-live-updated" in page.text
    assert re.search(r'<time datetime="[^"]+"[^>]*>[^<]+</time> <span class="ago">', page.text)

    by_title = client.get(sort_link(page, "title"))
    assert ticket_numbers(by_title) == [1, 2, 3, 4, 5]
    assert 'aria-sort="ascending"' in by_title.text
    urgent_first = client.get("/tickets", params={"sort": "priority"})
    assert ticket_numbers(urgent_first)[0] == 2

    # "My tickets": the reader's own, and the choice stays in every link of the list.
    mine = client.get("/tickets", params={"assignee": "mine", "limit": "2", "sort": "number"})
    assert ticket_numbers(mine) == [1, 2]
    assert total(mine) == "3 tickets match"
    next_url = links(mine)
    assert all(p in next_url for p in ("assignee=mine", "limit=2", "sort=number"))
    assert ticket_numbers(client.get(next_url)) == [3]
    assert "assignee=mine" in sort_link(mine, "title")
    assert '<option value="mine" selected>me</option>' in mine.text
    # The page-size menu keeps the filters and the sort as hidden fields.
    assert '<input type="hidden" name="assignee" value="mine">' in mine.text
    assert '<input type="hidden" name="sort" value="number">' in mine.text

    nobody = client.get("/tickets", params={"assignee": "none"})
    assert ticket_numbers(nobody) == [5, 4]
    theirs = client.get("/tickets", params={"client_id": contoso, "priority_id": urgent})
    assert ticket_numbers(theirs) == [] and "No open tickets match these filters" in theirs.text
    contoso_only = client.get("/tickets", params={"client_id": contoso})
    assert ticket_numbers(contoso_only) == [5, 3, 1]
    assert ticket_numbers(client.get("/tickets", params={"state": "closed"})) == []

    for bad in ({"sort": "colour"}, {"limit": "0"}, {"assignee": "someone"}, {"state": "x"}):
        refused = client.get("/tickets", params=bad)
        assert refused.status_code == 422, bad
        assert 'aria-label="Filter tickets"' in refused.text, "the filters come back"


def client_names(page: Response) -> list[str]:
    names = re.findall(r'<td class="name"><a href="/clients/[^"]+">([^<]+)</a></td>', page.text)
    return [html.unescape(n) for n in names]


def test_clients_sort_by_name_count_and_keep_the_name_filter(
    client: TestClient, tenant: TenantFixture
) -> None:
    for name in ("Initech", "contoso", "Contoso West", "Globex"):
        make_client(client, tenant, name)
    log_in(client, tenant.readonly.email)

    page = client.get("/clients")
    assert client_names(page) == ["contoso", "Contoso West", "Globex", "Initech"]
    assert total(page) == "4 clients"
    newest = client.get(sort_link(page, "created_at"))
    assert client_names(newest) == ["Globex", "Contoso West", "contoso", "Initech"]
    assert 'aria-sort="descending"' in newest.text

    found = client.get("/clients", params={"name": "CONTOSO", "limit": "1", "sort": "-name"})
    assert client_names(found) == ["Contoso West"]
    assert total(found) == "2 clients match"
    next_url = links(found)
    assert all(p in next_url for p in ("name=CONTOSO", "limit=1", "sort=-name"))
    assert client_names(client.get(next_url)) == ["contoso"]
    assert 'value="CONTOSO"' in found.text
    assert client.get("/clients", params={"sort": "notes"}).status_code == 422
    assert client.get("/clients", params={"name": "x" * 101}).status_code == 422


def test_agents_sort_count_page_and_keep_the_state(
    client: TestClient, tenant: TenantFixture
) -> None:
    site_id = make_site(client, tenant)
    token = make_token(client, tenant, site_id)["token"]
    for hostname in ("ws-03", "WS-01", "ws-02"):
        assert enroll(client, token, hostname).status_code == 201
    log_in(client, tenant.readonly.email)

    page = client.get("/agents")
    assert hostnames(page) == ["WS-01", "ws-02", "ws-03"]
    assert total(page) == "3 agents"
    assert 'id="agent-list" data-live="30"' in page.text and "data-live-updated" in page.text
    backwards = client.get(sort_link(page, "hostname"))
    assert hostnames(backwards) == ["ws-03", "ws-02", "WS-01"]

    online = client.get("/agents", params={"state": "online", "limit": "2", "sort": "-hostname"})
    assert hostnames(online) == ["ws-03", "ws-02"]
    assert total(online) == "3 agents match"
    next_url = links(online)
    assert all(p in next_url for p in ("state=online", "limit=2", "sort=-hostname"))
    assert hostnames(client.get(next_url)) == ["WS-01"]
    # The state chips keep the sort and size, and start again from the first page.
    offline_chip = html.unescape(
        find(r'<a class="chip" href="([^"]*state=offline[^"]*)"', online.text)
    )
    assert "sort=-hostname" in offline_chip and "limit=2" in offline_chip
    assert "cursor" not in offline_chip
    assert hostnames(client.get(offline_chip)) == []
    assert client.get("/agents", params={"sort": "colour"}).status_code == 422


def test_watch_rules_sort_count_and_keep_their_state_filter(
    client: TestClient, tenant: TenantFixture
) -> None:
    for name, enabled in (("b rule", True), ("A rule", False), ("c rule", True)):
        body = {"name": name, "scope": {"type": "tenant"}, "log_name": "System", "enabled": enabled}
        api(client, tenant, "POST", "/api/v1/event-log-watches", json=body)
    log_in(client, tenant.readonly.email)

    def names(page: Response) -> list[str]:
        return re.findall(
            r'<td class="name"><span class="truncate" title="[^"]*">([^<]+)<', page.text
        )

    page = client.get("/watches")
    assert names(page) == ["A rule", "b rule", "c rule"]
    assert total(page) == "3 watch rules"
    assert names(client.get(sort_link(page, "name"))) == ["c rule", "b rule", "A rule"]
    enabled = client.get("/watches", params={"state": "enabled", "limit": "1", "sort": "-name"})
    assert names(enabled) == ["c rule"] and total(enabled) == "2 watch rules match"
    next_url = links(enabled)
    assert all(p in next_url for p in ("state=enabled", "limit=1", "sort=-name"))
    assert names(client.get(next_url)) == ["b rule"]
    assert client.get("/watches", params={"state": "sleepy"}).status_code == 422


def test_rules_sort_without_changing_their_evaluation_order(
    client: TestClient, tenant: TenantFixture
) -> None:
    for name, active in (("zeta", True), ("Alpha", False), ("mid", True)):
        api(client, tenant, "POST", "/api/v1/alert-rules", json={"name": name, "active": active})
    log_in(client, tenant.admin.email)

    def shown(page: Response) -> list[tuple[str, str]]:
        return re.findall(r'data-rule="([^"]+)"[^>]*>\s*<td class="muted">(\d+)</td>', page.text)

    page = client.get("/rules")
    assert shown(page) == [("zeta", "1"), ("Alpha", "2"), ("mid", "3")]
    assert "Shown in evaluation order" in page.text
    assert total(page) == "3 rules"
    assert 'aria-label="Move zeta down"' in page.text

    by_name = client.get(sort_link(page, "name"))
    # The # column keeps each rule's place in evaluation order.
    assert shown(by_name) == [("Alpha", "2"), ("mid", "3"), ("zeta", "1")]
    assert "rules are still tried in the order of the # column" in by_name.text
    assert "Move zeta down" not in by_name.text, "moving is done in evaluation order"
    after = api(client, tenant, "GET", "/api/v1/alert-rules")["items"]
    assert [r["name"] for r in after] == ["zeta", "Alpha", "mid"], "sorting changed nothing"

    active = client.get("/rules", params={"state": "active", "limit": "1", "sort": "-order"})
    assert shown(active) == [("mid", "3")] and total(active) == "2 rules match"
    next_url = links(active)
    assert all(p in next_url for p in ("state=active", "limit=1", "sort=-order"))
    assert shown(client.get(next_url)) == [("zeta", "1")]
    cursor = next_url.split("cursor=")[1]
    assert client.get("/rules", params={"sort": "name", "cursor": cursor}).status_code == 422
    assert client.get("/rules", params={"sort": "colour"}).status_code == 422


def test_the_timeline_sorts_by_time_counts_and_keeps_repeated_filters(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant, "WS-T")
    batch = [event(i) for i in range(8)]  # logon, logoff, boot, shutdown, twice
    assert client.post(EVENTS, json={"events": batch}, headers=agent.headers).status_code == 200
    log_in(client, tenant.readonly.email)

    def times(page: Response) -> list[str]:
        return re.findall(
            r'<tr data-kind="\w+">\s*<td class="nowrap small"><time datetime="([^"]+)"', page.text
        )

    page = client.get("/timeline", params={"kind": ["logon", "logoff"]})
    shown = times(page)
    assert len(shown) == 4 and shown == sorted(shown, reverse=True)
    assert total(page) == "4 events match"
    oldest = client.get(sort_link(page, "at"))
    assert times(oldest) == shown[::-1]
    assert "oldest first" in oldest.text

    paged = client.get(
        "/timeline", params={"kind": ["logon", "logoff"], "sort": "at", "limit": "3"}
    )
    assert times(paged) == shown[::-1][:3]
    newer = links(paged)
    assert "kind=logon" in newer and "kind=logoff" in newer and "limit=3" in newer
    assert times(client.get(newer)) == shown[::-1][3:]
    # The page-size menu keeps both kinds.
    assert paged.text.count('<input type="hidden" name="kind" value="logon">') >= 2
    # A kind chip keeps the order and the size.
    boot_chip = html.unescape(find(r'href="([^"]*kind=boot[^"]*)"', paged.text))
    assert "sort=at" in boot_chip and "limit=3" in boot_chip
    assert client.get("/timeline", params={"sort": "kind"}).status_code == 422


def test_a_ticket_from_an_alert_says_how_many_alerts_it_holds(
    client: TestClient, tenant: TenantFixture
) -> None:
    made = setup_pipeline(client, tenant)
    log_in(client, tenant.readonly.email)
    page = client.get("/tickets")
    who = re.findall(r'data-testid="ticket-who">([^<]+)</div>', page.text)
    assert [html.unescape(w) for w in who] == ["Contoso · 1 alert"]
    assert made["alert"]["ticket_id"] in page.text
