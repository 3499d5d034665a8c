"""The agent, timeline and watch-rule pages over HTTP: what they show, who may write, isolation."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.agents import EnrolledAgent, enroll, enrolled_agent, make_site, make_token
from tests.support.api import cross_tenant_entries
from tests.support.pages import api, field_error, flash, forms

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only

EVENTS = "/api/v1/agent/events"


def backdate(container: Container, tenant: TenantFixture, agent_id: str, hours: int) -> None:
    """Make an agent last heard from `hours` ago, as if its machine went away."""
    with container.agents.uow.write() as repos:
        seen = datetime.now(UTC) - timedelta(hours=hours)
        repos.agents.update(tenant.id, uuid.UUID(agent_id), last_seen_at=seen)


def linux_agent(client: TestClient, tenant: TenantFixture) -> EnrolledAgent:
    site_id = make_site(client, tenant)
    token = make_token(client, tenant, site_id)["token"]
    answer = client.post(
        "/api/v1/agent/enroll",
        json={"token": token, "hostname": "web-01", "os": "Debian 12", "agent_version": "0.1.0"},
    )
    assert answer.status_code == 201, answer.text
    return EnrolledAgent(answer.json()["agent_id"], answer.json()["agent_key"], site_id)


def rows(page: Response, attribute: str) -> list[str]:
    return re.findall(rf'<tr[^>]* {attribute}="([^"]+)"', page.text)


def bars(page: Response) -> list[dict[str, str]]:
    """The swimlane bars drawn: lane, start, end, whether still going, and the row label."""
    found = []
    for lane, label, body in re.findall(
        r'<g class="lane lane-\w+" data-lane="(\w+)" data-label="([^"]*)">(.*?)</g>',
        page.text,
        re.S,
    ):
        for start, end, open_end in re.findall(
            r'data-start="([^"]+)" data-end="([^"]+)" data-open-end="(\w+)"', body
        ):
            found.append(
                {
                    "lane": lane,
                    "label": html.unescape(label),
                    "start": start,
                    "end": end,
                    "open": open_end,
                }
            )
    return found


def test_agents_list_shows_each_agents_state_and_filters_by_it(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    online = enrolled_agent(client, tenant, "WS-ONLINE")
    offline = enrolled_agent(client, tenant, "WS-AWAY")
    backdate(container, tenant, offline.id, hours=5)
    revoked = enrolled_agent(client, tenant, "WS-GONE")
    api(client, tenant, "POST", f"/api/v1/agents/{revoked.id}/revoke")
    log_in(client, tenant.readonly.email)

    page = client.get("/agents")
    assert page.status_code == 200
    states = dict(
        zip(
            re.findall(r'<tr id="agent-([0-9a-f-]+)"', page.text),
            rows(page, "data-state"),
            strict=True,
        )
    )
    assert states == {online.id: "online", offline.id: "offline", revoked.id: "revoked"}
    assert "Windows 11" in page.text and "5 h ago" in page.text
    assert forms(page) == [], "a readonly user gets no token form and no revoke buttons"

    only_online = client.get("/agents?state=online")
    assert rows(only_online, "data-state") == ["online"]
    assert "WS-ONLINE" in only_online.text and "WS-AWAY" not in only_online.text
    assert rows(client.get("/agents?state=offline"), "data-state") == ["offline"]
    bad = client.get("/agents?state=sleepy")
    assert bad.status_code == 422 and "state must be one of" in bad.text


def test_a_token_made_on_the_page_is_shown_once_with_the_command_and_enrols(
    client: TestClient, tenant: TenantFixture
) -> None:
    site_id = make_site(client, tenant)
    csrf = log_in(client, tenant.admin.email)
    made = client.post(
        "/agents/tokens",
        data={"site_id": site_id, "name": "Laptops", "expires_in_hours": "24", "csrf_token": csrf},
    )
    assert made.status_code == 200, made.text
    secret = re.search(r'data-testid="token-secret" value="([^"]+)"|value="(fwe_[^"]+)"', made.text)
    assert secret
    token = next(g for g in secret.groups() if g)
    assert token.startswith("fwe_")
    assert f"fleetward agent run --server http://testserver --token {token}" in made.text
    assert "shown only this once" in made.text

    listed = client.get("/agents")
    assert "Laptops" in listed.text and token not in listed.text, "the secret is never shown again"
    assert enroll(client, token, "NEW-PC").status_code == 201

    token_id = api(client, tenant, "GET", "/api/v1/enrollment-tokens")["items"][0]["id"]
    revoked = client.post(f"/agents/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert flash(revoked) == "Token “Laptops” revoked."
    assert enroll(client, token, "LATE-PC").status_code == 401


def test_the_token_form_names_the_field_that_is_wrong(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    foreign_site = make_site(client, other_tenant)
    make_site(client, tenant)
    csrf = log_in(client, tenant.admin.email)
    for data, field, reason in [
        ({"site_id": ""}, "site_id", "choose the site"),
        ({"site_id": foreign_site}, "site_id", "names no site of yours"),
        ({"site_id": "not-an-id"}, "site_id", "is not an id"),
        ({"site_id": foreign_site, "expires_in_hours": "0"}, "expires_in_hours", "from 1 to"),
        ({"site_id": foreign_site, "expires_in_hours": "soon"}, "expires_in_hours", "whole number"),
    ]:
        page = client.post("/agents/tokens", data={**data, "csrf_token": csrf})
        assert page.status_code == 422, data
        assert reason in field_error(page, field), (data, field_error(page, field))
    assert api(client, tenant, "GET", "/api/v1/enrollment-tokens")["items"] == []


def test_only_admins_write_and_every_form_needs_the_csrf_token(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    token_id = api(client, tenant, "GET", "/api/v1/enrollment-tokens")["items"][0]["id"]
    csrf = log_in(client, tenant.admin.email)
    for path, data in [
        ("/agents/tokens", {"site_id": agent.site_id}),
        (f"/agents/tokens/{token_id}/revoke", {}),
        (f"/agents/{agent.id}/revoke", {}),
        ("/watches", {"name": "x", "log_name": "System"}),
    ]:
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, path
    for role in (tenant.operator, tenant.readonly):
        client.cookies.clear()
        csrf = log_in(client, role.email)
        assert client.get(f"/agents/{agent.id}/revoke").status_code == 403
        for path, data in [
            ("/agents/tokens", {"site_id": agent.site_id}),
            (f"/agents/tokens/{token_id}/revoke", {}),
            (f"/agents/{agent.id}/revoke", {}),
        ]:
            assert client.post(path, data={**data, "csrf_token": csrf}).status_code == 403, path
        overview = client.get(f"/agents/{agent.id}")
        assert "Revoke agent" not in overview.text and forms(overview) == []
    assert api(client, tenant, "GET", f"/api/v1/agents/{agent.id}")["revoked_at"] is None


def test_an_admin_revokes_an_agent_after_confirming(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant, "WS-42")
    csrf = log_in(client, tenant.admin.email)
    overview = client.get(f"/agents/{agent.id}")
    assert overview.status_code == 200
    text = html.unescape(overview.text)
    assert "WS-42" in text and "Windows 11" in text and "HQ" in text
    assert f'href="/agents/{agent.id}/revoke"' in overview.text
    confirm = client.get(f"/agents/{agent.id}/revoke")
    assert forms(confirm) == [f"/agents/{agent.id}/revoke"]
    done = client.post(f"/agents/{agent.id}/revoke", data={"csrf_token": csrf})
    assert flash(done) == "Agent “WS-42” revoked: its key no longer works."
    assert 'data-testid="agent-state">revoked<' in done.text
    sent = client.post(EVENTS, json={"events": []}, headers=agent.headers)
    assert sent.status_code == 401


def test_another_tenants_agent_or_watch_is_not_found_and_the_attempt_is_audited(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    theirs = enrolled_agent(client, other_tenant)
    watch = api(
        client,
        other_tenant,
        "POST",
        "/api/v1/event-log-watches",
        json={"name": "Theirs", "scope": {"type": "tenant"}, "log_name": "System"},
    )
    csrf = log_in(client, tenant.admin.email)
    for path in (
        f"/agents/{theirs.id}",
        f"/agents/{theirs.id}/timeline",
        f"/agents/{theirs.id}/events",
        f"/agents/{theirs.id}/revoke",
        f"/timeline?pc_id={theirs.id}",
        f"/watches/{watch['id']}/edit",
        f"/watches/{watch['id']}/delete",
        "/agents/not-an-id",
        "/watches/not-an-id/edit",
    ):
        page = client.get(path)
        assert page.status_code == 404, path
    for path in (f"/agents/{theirs.id}/revoke", f"/watches/{watch['id']}/delete"):
        assert client.post(path, data={"csrf_token": csrf}).status_code == 404, path
    assert cross_tenant_entries(client, tenant.admin.headers) == []
    audited = cross_tenant_entries(client, other_tenant.admin.headers)
    assert {e["object_id"] for e in audited} >= {theirs.id, watch["id"]}
    assert {e["actor_label"] for e in audited} == {tenant.admin.email}
    assert api(client, other_tenant, "GET", f"/api/v1/agents/{theirs.id}")["revoked_at"] is None
    assert api(client, other_tenant, "GET", f"/api/v1/event-log-watches/{watch['id']}")


def _ago(now: datetime, hours: float) -> str:
    return (now - timedelta(hours=hours)).isoformat()


def send_day(client: TestClient, agent: EnrolledAgent, now: datetime) -> None:
    """Booted 6 h ago; alice 5 h to 3 h ago; bob since 2 h ago; asleep 90 to 60 min ago."""
    events = [
        {"at": _ago(now, 6), "kind": "boot", "source": "winlog:System", "event_record_id": "1"},
        {
            "at": _ago(now, 5),
            "kind": "logon",
            "source": "winlog:Security",
            "event_record_id": "2",
            "payload": {"user": "alice", "domain": "CONTOSO", "logon_id": "0x1", "logon_type": 2},
        },
        {
            "at": _ago(now, 3),
            "kind": "logoff",
            "source": "winlog:Security",
            "event_record_id": "3",
            "payload": {"user": "alice", "domain": "CONTOSO", "logon_id": "0x1", "logon_type": 2},
        },
        {
            "at": _ago(now, 2),
            "kind": "logon",
            "source": "winlog:Security",
            "event_record_id": "4",
            "payload": {"user": "bob", "domain": "CONTOSO", "logon_id": "0x2", "logon_type": 10},
        },
        {"at": _ago(now, 1.5), "kind": "sleep", "source": "winlog:System", "event_record_id": "5"},
        {"at": _ago(now, 1), "kind": "resume", "source": "winlog:System", "event_record_id": "6"},
        {
            "at": _ago(now, 0.5),
            "kind": "agent_started",
            "source": "agent:startup",
            "payload": {"agent_version": "0.1.0", "hostname": "WS-01", "os": "Windows 11"},
        },
    ]
    answer = client.post(EVENTS, json={"events": events}, headers=agent.headers)
    assert answer.status_code == 200, answer.text


def test_the_timeline_tab_lists_events_and_draws_lanes_clipped_to_now(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    now = datetime.now(UTC)
    send_day(client, agent, now)
    log_in(client, tenant.readonly.email)
    page = client.get(f"/agents/{agent.id}/timeline")
    assert page.status_code == 200
    assert rows(page, "data-kind") == [
        "agent_started",
        "resume",
        "sleep",
        "logon",
        "logoff",
        "logon",
        "boot",
    ], "newest first"
    assert "CONTOSO\\alice · logon type 2" in html.unescape(page.text)

    drawn = bars(page)
    power = [b for b in drawn if b["lane"] == "power"]
    assert [(b["open"]) for b in power] == ["false", "true"], (
        "on until the sleep, then since the resume"
    )
    sleep = [b for b in drawn if b["lane"] == "sleep"]
    assert len(sleep) == 1 and sleep[0]["open"] == "false"
    sessions = {b["label"]: b for b in drawn if b["lane"] == "session"}
    assert set(sessions) == {"CONTOSO\\alice", "CONTOSO\\bob"}
    assert sessions["CONTOSO\\alice"]["open"] == "false"
    assert sessions["CONTOSO\\bob"]["open"] == "true", "bob is still logged on"
    after = datetime.now(UTC)
    for bar in drawn:
        assert datetime.fromisoformat(bar["end"]) <= after, "nothing is drawn into the future"
    assert datetime.fromisoformat(sessions["CONTOSO\\bob"]["end"]) >= now

    # A range reaching into the future: bars still stop at now, the rest is "still to come".
    later = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    ahead = client.get(f"/agents/{agent.id}/timeline?until={later}")
    assert ahead.status_code == 200 and 'class="lane-future"' in ahead.text
    bob = [b for b in bars(ahead) if b["label"] == "CONTOSO\\bob"]
    assert len(bob) == 1 and bob[0]["open"] == "true"
    assert now <= datetime.fromisoformat(bob[0]["end"]) <= datetime.now(UTC)


def test_kind_chips_toggle_kinds_in_the_query_string(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    send_day(client, agent, datetime.now(UTC))
    log_in(client, tenant.readonly.email)
    base = f"/agents/{agent.id}/timeline"
    logons = client.get(f"{base}?kind=logon")
    assert rows(logons, "data-kind") == ["logon", "logon"]
    chip = re.search(
        r'<a class="chip chip-on" href="([^"]+)" aria-pressed="true" data-kind="logon"', logons.text
    )
    assert chip and html.unescape(chip.group(1)) == base, "the chip that is on turns itself off"
    boot_chip = re.search(r'href="([^"]+)" aria-pressed="false" data-kind="boot"', logons.text)
    assert boot_chip
    both = client.get(html.unescape(boot_chip.group(1)))
    assert rows(both, "data-kind") == ["logon", "logon", "boot"]
    assert html.unescape(boot_chip.group(1)) == f"{base}?kind=logon&kind=boot"
    # The lanes are drawn from every power and session event, whatever the chips.
    assert {b["lane"] for b in bars(logons)} == {"power", "sleep", "session"}

    by_source = client.get(f"{base}?source=agent:startup")
    assert rows(by_source, "data-kind") == ["agent_started"]
    bad = client.get(f"{base}?kind=Tea+Time!")
    assert bad.status_code == 422 and "kind must be a short identifier" in html.unescape(bad.text)
    backwards = client.get(f"{base}?since=2026-01-02T00:00&until=2026-01-01T00:00")
    assert backwards.status_code == 422 and "until must be after since" in backwards.text


def test_the_list_pages_older_by_cursor_and_the_tenant_timeline_chooses_an_agent(
    client: TestClient, tenant: TenantFixture
) -> None:
    first = enrolled_agent(client, tenant, "WS-A")
    second = enrolled_agent(client, tenant, "WS-B")
    now = datetime.now(UTC)
    batch = [
        {
            "at": _ago(now, 100 - i),
            "kind": "diagnostic",
            "source": "agent:diagnostic",
            "event_record_id": str(i),
            "payload": {"code": f"c{i}", "message": f"m{i}"},
        }
        for i in range(60)
    ]
    assert client.post(EVENTS, json={"events": batch}, headers=first.headers).status_code == 200
    send_day(client, second, now)
    log_in(client, tenant.readonly.email)

    page = client.get(f"/agents/{first.id}/timeline?kind=diagnostic")
    codes = re.findall(r"<summary>m(\d+) · c\d+</summary>", page.text)
    assert codes == [str(i) for i in range(59, 9, -1)]
    older = re.search(r'<a href="([^"]+)" rel="next">Older</a>', page.text)
    assert older
    rest = client.get(html.unescape(older.group(1)))
    assert re.findall(r"<summary>m(\d+) · c\d+</summary>", rest.text) == [
        str(i) for i in range(9, -1, -1)
    ]
    assert 'rel="next"' not in rest.text

    everyone = client.get("/timeline")
    assert everyone.status_code == 200
    assert "WS-A" in everyone.text and "WS-B" in everyone.text
    assert 'data-testid="swimlanes"' not in everyone.text, "lanes need one machine"
    one = client.get(f"/timeline?pc_id={second.id}")
    assert 'data-testid="swimlanes"' in one.text
    assert "diagnostic" not in rows(one, "data-kind")


WATCH_FORM = {
    "name": "Failed logons",
    "scope_type": "tenant",
    "log_name": "Security",
    "event_ids": "4625, 4740",
    "providers": "Microsoft-Windows-Security-Auditing",
    "min_level": "information",
    "keywords": "admin\nbackup",
    "alert_severity": "major",
    "enabled": "on",
}


def test_an_admin_creates_edits_and_deletes_a_watch_rule(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant, "WS-07")
    csrf = log_in(client, tenant.admin.email)
    made = client.post("/watches", data={**WATCH_FORM, "csrf_token": csrf})
    assert flash(made) == "Watch rule “Failed logons” created."
    stored = api(client, tenant, "GET", "/api/v1/event-log-watches")["items"]
    assert len(stored) == 1
    watch = stored[0]
    assert {k: watch[k] for k in ("event_ids", "providers", "keywords", "min_level")} == {
        "event_ids": [4625, 4740],
        "providers": ["Microsoft-Windows-Security-Auditing"],
        "keywords": ["admin", "backup"],
        "min_level": "information",
    }
    assert (watch["scope"], watch["alert_severity"], watch["enabled"]) == (
        {"type": "tenant", "id": None},
        "major",
        True,
    )
    assert f'id="watch-{watch["id"]}"' in made.text

    edit = client.get(f"/watches/{watch['id']}/edit")
    assert 'value="4625, 4740"' in edit.text
    saved = client.post(
        f"/watches/{watch['id']}/edit",
        data={
            **WATCH_FORM,
            "scope_type": "agent",
            "agent_id": agent.id,
            "enabled": "",
            "event_ids": "4625",
            "csrf_token": csrf,
        },
    )
    assert flash(saved) == "Watch rule “Failed logons” saved."
    after = api(client, tenant, "GET", f"/api/v1/event-log-watches/{watch['id']}")
    assert after["scope"] == {"type": "agent", "id": agent.id}
    assert (after["event_ids"], after["enabled"]) == ([4625], False)
    assert "agent WS-07" in saved.text and "disabled" in saved.text

    confirm = client.get(f"/watches/{watch['id']}/delete")
    assert forms(confirm) == [f"/watches/{watch['id']}/delete"]
    gone = client.post(f"/watches/{watch['id']}/delete", data={"csrf_token": csrf})
    assert flash(gone) == "Watch rule “Failed logons” deleted."
    assert api(client, tenant, "GET", "/api/v1/event-log-watches")["items"] == []


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"name": "  "}, "name", "must not be empty"),
        ({"log_name": ""}, "log_name", "must name an event log"),
        ({"event_ids": "4625, lots"}, "event_ids", "'lots' is not an event id"),
        ({"event_ids": "70000"}, "event_ids", "0 to 65535"),
        ({"scope_type": "client"}, "client_id", "choose the client"),
        ({"scope_type": "site", "site_id": str(uuid.uuid4())}, "site_id", "is not a site of yours"),
        ({"scope_type": "planet"}, "scope_type", "not one of the choices"),
        ({"min_level": "loud"}, "min_level", "not one of the choices"),
        ({"alert_severity": "dire"}, "alert_severity", "not one of the choices"),
    ],
)
def test_the_watch_form_shows_the_services_error_next_to_its_field(
    client: TestClient, tenant: TenantFixture, changes: dict[str, str], field: str, reason: str
) -> None:
    csrf = log_in(client, tenant.admin.email)
    page = client.post("/watches", data={**WATCH_FORM, **changes, "csrf_token": csrf})
    assert page.status_code == 422
    assert reason in field_error(page, field), field_error(page, field)
    assert 'value="Security"' in page.text or changes.get("log_name") == "", (
        "the form keeps its input"
    )
    assert api(client, tenant, "GET", "/api/v1/event-log-watches")["items"] == []


def test_other_roles_see_watch_rules_read_only(client: TestClient, tenant: TenantFixture) -> None:
    watch = api(
        client,
        tenant,
        "POST",
        "/api/v1/event-log-watches",
        json={"name": "Disk errors", "scope": {"type": "tenant"}, "log_name": "System"},
    )
    for role in (tenant.operator, tenant.readonly):
        client.cookies.clear()
        csrf = log_in(client, role.email)
        listed = client.get("/watches")
        assert "Disk errors" in listed.text and forms(listed) == []
        assert f"/watches/{watch['id']}/edit" not in listed.text
        for path in (f"/watches/{watch['id']}/edit", f"/watches/{watch['id']}/delete"):
            assert client.get(path).status_code == 403
            assert client.post(path, data={**WATCH_FORM, "csrf_token": csrf}).status_code == 403
        assert client.post("/watches", data={**WATCH_FORM, "csrf_token": csrf}).status_code == 403
    assert len(api(client, tenant, "GET", "/api/v1/event-log-watches")["items"]) == 1


def test_nav_leads_to_the_new_pages(client: TestClient, tenant: TenantFixture) -> None:
    log_in(client, tenant.readonly.email)
    page = client.get("/agents")
    nav = page.text.split("</nav>")[0]
    for path in ("/agents", "/timeline", "/watches"):
        assert f'<a href="{path}"' in nav
    assert '<a href="/agents" aria-current="page">' in nav
