"""An agent's Events tab: its event log read on demand, through the control channel."""

from __future__ import annotations

import html
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.integration.test_agent_pages import linux_agent, rows
from tests.integration.test_pages import log_in
from tests.support.agents import enrolled_agent
from tests.support.channel import AgentChannel

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only


def test_the_events_tab_fits_the_agents_system(client: TestClient, tenant: TenantFixture) -> None:
    windows = enrolled_agent(client, tenant)
    linux = linux_agent(client, tenant)
    log_in(client, tenant.readonly.email)
    page = client.get(f"/agents/{windows.id}/events")
    assert page.status_code == 200
    assert '<label for="ev-id">Event id</label>' in page.text and "Log name" in page.text
    journal = client.get(f"/agents/{linux.id}/events")
    assert "Unit or journal" in journal.text and "Identifier" in journal.text
    assert 'name="event_id"' not in journal.text and 'value="journal"' in journal.text


RECORDS = [
    {
        "log_name": "System",
        "provider": "disk",
        "event_id": 7,
        "level": 2,
        "record_id": "9",
        "time_created": "2026-03-01T08:00:00Z",
        "computer": "WS-01",
        "user_sid": None,
        "keywords": 0,
        "data": {"DeviceName": "\\Device\\Harddisk0\\DR0"},
        "message": "The device has a bad block.\nSecond line.",
    },
    {
        "log_name": "System",
        "provider": "Service Control Manager",
        "event_id": 7036,
        "level": 4,
        "record_id": "8",
        "time_created": "2026-03-01T07:00:00Z",
        "computer": "WS-01",
        "user_sid": None,
        "keywords": 0,
        "data": {"param1": "Windows Update"},
        "message": "",
    },
]


def answering(result: dict[str, Any]) -> Any:
    return lambda _command: result


def test_the_events_tab_queries_the_agent_over_its_channel(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    csrf = log_in(client, tenant.operator.email)
    path = f"/agents/{agent.id}/events"
    found = {"ok": True, "data": {"records": RECORDS}}
    with AgentChannel(client, agent.key, answer=answering(found)) as channel:
        assert channel.next_frame()["type"] == "welcome"
        page = client.post(
            path,
            data={
                "log": "System",
                "level": "warning",
                "event_id": "7",
                "source": "disk",
                "since": "2026-03-01T00:00",
                "until": "2026-03-02T00:00",
                "limit": "20",
                "csrf_token": csrf,
            },
        )
        assert page.status_code == 200
        assert [c["args"] for c in channel.commands] == [
            {
                "log": "System",
                "level": "warning",
                "event_id": 7,
                "source": "disk",
                "since": "2026-03-01T00:00:00Z",
                "until": "2026-03-02T00:00:00Z",
                "limit": 20,
            }
        ]
        assert rows(page, "data-level") == ["error", "information"]
        text = html.unescape(page.text)
        assert "<summary>The device has a bad block.</summary>" in text
        assert "<summary>param1=Windows Update</summary>" in text
        assert '"DeviceName": "\\\\Device\\\\Harddisk0\\\\DR0"' in text, (
            "the row opens to the record"
        )

        bad = client.post(path, data={"log": "System", "event_id": "big", "csrf_token": csrf})
        assert bad.status_code == 422 and "event_id must be a whole number" in bad.text
        assert len(channel.commands) == 1, "a bad filter never reaches the agent"

        # Reading a log runs a command on the machine: not for the readonly role.
        client.cookies.clear()
        csrf = log_in(client, tenant.readonly.email)
        refused = client.post(path, data={"log": "System", "csrf_token": csrf})
        assert refused.status_code == 200 and "operators and admins may do it" in refused.text
        assert len(channel.commands) == 1, "the agent was not asked for the readonly user"


def test_only_the_events_form_post_with_its_csrf_token_asks_the_agent(
    client: TestClient, tenant: TenantFixture
) -> None:
    """Asking runs a command on the machine: a link (GET) from another site, or a
    forged form without the session's token, must not."""
    agent = enrolled_agent(client, tenant)
    csrf = log_in(client, tenant.operator.email)
    path = f"/agents/{agent.id}/events"
    found = {"ok": True, "data": {"records": RECORDS}}
    with AgentChannel(client, agent.key, answer=answering(found)) as channel:
        assert channel.next_frame()["type"] == "welcome"
        link = client.get(f"{path}?log=Security&source=disk")
        assert link.status_code == 200 and 'value="Security"' in link.text, "filled, not sent"
        assert rows(link, "data-level") == []
        forged = client.post(path, data={"log": "Security"})
        assert forged.status_code == 403
        wrong = client.post(path, data={"log": "Security", "csrf_token": "not-the-token"})
        assert wrong.status_code == 403
        assert channel.commands == [], "the agent was never asked"
        asked = client.post(path, data={"log": "Security", "csrf_token": csrf})
        assert asked.status_code == 200 and len(rows(asked, "data-level")) == 2
        assert [c["args"]["log"] for c in channel.commands] == ["Security"]


def test_the_events_tab_explains_an_offline_agent_a_time_out_and_a_failure(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    query = {"log": "System", "csrf_token": log_in(client, tenant.operator.email)}
    path = f"/agents/{agent.id}/events"
    offline = client.post(path, data=query)
    assert offline.status_code == 409 and "The agent is offline" in offline.text

    failed = {"ok": False, "error": "Get-WinEvent: the channel Foo was not found"}
    with AgentChannel(client, agent.key, answer=answering(failed)) as channel:
        assert channel.next_frame()["type"] == "welcome"
        answer = client.post(path, data=query)
        assert answer.status_code == 502
        assert "the channel Foo was not found" in html.unescape(answer.text)

    container.control.command_timeout = 0.3  # the real wait is 15 s
    with AgentChannel(client, agent.key) as channel:  # answers nothing
        assert channel.next_frame()["type"] == "welcome"
        late = client.post(path, data=query)
        assert late.status_code == 504 and "No answer within 15 s" in late.text
        assert channel.next_frame()["type"] == "command"
