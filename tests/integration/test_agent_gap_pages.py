"""Issue 16's agent fixes as a person sees them: the watch form's level, the Events tab's
logs, timeline kinds no one named, long session labels and resolved insertion strings."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantFixture
from tests.integration.test_agent_pages import linux_agent, rows
from tests.integration.test_pages import log_in
from tests.support.agents import enrolled_agent
from tests.support.channel import AgentChannel
from tests.support.pages import api

pytestmark = pytest.mark.sqlite_only

EVENTS = "/api/v1/agent/events"


def selected_level(page_text: str) -> str:
    select = re.search(r'<select id="wr-level".*?</select>', page_text, re.S)
    assert select, "the form has its level chooser"
    chosen = re.findall(r'<option value="([a-z]+)" selected>', select.group(0))
    assert len(chosen) == 1, chosen
    return chosen[0]


def test_the_watch_form_defaults_to_any_level_as_the_api_does(
    client: TestClient, tenant: TenantFixture
) -> None:
    csrf = log_in(client, tenant.admin.email)
    page = client.get("/watches")
    assert selected_level(page.text) == "verbose"
    assert '<option value="verbose" selected>any level</option>' in page.text

    # The failed-logons rule as a person fills it in, leaving the level alone.
    form = {
        "name": "Failed logons",
        "scope_type": "tenant",
        "log_name": "Security",
        "event_ids": "4625, 4740",
        "min_level": selected_level(page.text),
        "alert_severity": "major",
        "enabled": "on",
        "csrf_token": csrf,
    }
    assert client.post("/watches", data=form).status_code in (200, 303)
    by_api = api(client, tenant, "POST", "/api/v1/event-log-watches", json={
        "name": "Failed logons (API)", "scope": {"type": "tenant"}, "log_name": "Security",
        "event_ids": [4625, 4740],
    })  # fmt: skip
    stored = api(client, tenant, "GET", "/api/v1/event-log-watches")["items"]
    assert {w["min_level"] for w in stored} == {by_api["min_level"]} == {"verbose"}


def test_the_watch_form_says_which_levels_the_chosen_logs_events_use(
    client: TestClient, tenant: TenantFixture
) -> None:
    csrf = log_in(client, tenant.admin.email)
    blank = client.get("/watches")
    hint = re.search(r'data-testid="level-hint">([^<]*)<', blank.text)
    assert hint and hint.group(1) == "", "no log chosen yet"
    hints = re.search(r'data-level-hints="([^"]+)"', blank.text)
    assert hints, "the browser gets every log's hint to show as the log is chosen"
    table = json_of(hints.group(1))
    assert "Information" in table["security"] and "4625" in table["security"]
    assert "Error" in table["system"] and "Warning" in table["application"]

    # The form comes back (a field wrong) with the hint of the log it names.
    again = client.post("/watches", data={"name": "", "log_name": "Security", "csrf_token": csrf})
    assert again.status_code == 422
    shown = re.search(r'data-testid="level-hint">([^<]*)<', html.unescape(again.text))
    assert shown and "Audit Failure" in shown.group(1) and "Information" in shown.group(1)


def json_of(attribute: str) -> dict[str, str]:
    found: dict[str, str] = json.loads(html.unescape(attribute))
    return found


def test_the_events_tab_offers_the_logs_the_agent_says_it_reads(
    client: TestClient, tenant: TenantFixture
) -> None:
    # A Linux machine whose agent reads a folder of .evtx files, not the journal.
    agent = linux_agent(client, tenant)
    log_in(client, tenant.operator.email)
    path = f"/agents/{agent.id}/events"
    with AgentChannel(client, agent.key, sources=["Security", "System"]) as channel:
        assert channel.next_frame()["type"] == "welcome"
        page = client.get(path)
    assert page.status_code == 200
    offered = re.findall(r'<option value="([^"]+)">', page.text.split('id="ev-logs"')[1])
    assert offered[:2] == ["Security", "System"]
    assert "sshd.service" not in page.text and 'value="journal"' not in page.text
    assert re.search(r'<input id="ev-log" name="log" value="Security"', page.text)
    assert '<label for="ev-id">Event id</label>' in page.text, "Windows logs have event ids"
    reads = re.search(r'data-testid="agent-sources">(.*?)</p>', page.text)
    assert reads and "Security" in reads.group(1) and "System" in reads.group(1)


def test_a_query_of_a_log_the_agent_does_not_read_shows_its_answer(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = linux_agent(client, tenant)
    csrf = log_in(client, tenant.operator.email)
    refusal = {"ok": False, "error": "this agent does not collect journal; it reads: Security"}
    with AgentChannel(client, agent.key, answer=lambda _c: refusal, sources=["Security"]) as ch:
        assert ch.next_frame()["type"] == "welcome"
        page = client.post(
            f"/agents/{agent.id}/events", data={"log": "journal", "csrf_token": csrf}
        )
    problem = re.search(r'data-testid="events-problem">([^<]*)<', page.text)
    assert problem and "does not collect journal; it reads: Security" in problem.group(1)
    assert "No records match" not in page.text


def test_a_kind_no_one_named_shows_as_sent_in_a_neutral_colour(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    at = datetime.now(UTC) - timedelta(hours=1)
    sent: list[dict[str, Any]] = [
        {"at": at.isoformat(), "kind": "boot", "source": "winlog:System", "event_record_id": "1"},
        {
            "at": (at + timedelta(minutes=1)).isoformat(),
            "kind": "usb.device-inserted",
            "source": "winlog:System",
            "event_record_id": "2",
        },
    ]
    answer = client.post(EVENTS, json={"events": sent}, headers=agent.headers)
    assert answer.status_code == 200, answer.text
    log_in(client, tenant.readonly.email)
    page = client.get(f"/agents/{agent.id}/timeline")
    assert rows(page, "data-kind")[:2] == ["usb.device-inserted", "boot"]
    assert '<span class="badge kind-other">usb.device-inserted</span>' in page.text
    assert '<span class="badge kind-boot">boot</span>' in page.text, "known kinds keep theirs"
    chip = re.search(
        r'href="([^"]+)" aria-pressed="false" data-kind="usb.device-inserted"', page.text
    )
    assert chip, "its chip filters by it"
    only = client.get(html.unescape(chip.group(1)))
    assert rows(only, "data-kind") == ["usb.device-inserted"]


def test_session_lanes_of_long_names_read_apart_with_the_whole_name_on_hover(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    start = datetime.now(UTC) - timedelta(hours=3)
    sids = [f"S-1-5-21-3871582759-1638593395-315824688-{rid}" for rid in (1001, 1002)]
    sent = [
        {
            "at": (start + timedelta(minutes=i)).isoformat(),
            "kind": "logon",
            "source": "winlog:Security",
            "event_record_id": str(10 + i),
            "payload": {"user_sid": sid, "logon_id": f"0x{i}"},
        }
        for i, sid in enumerate(sids)
    ]
    assert client.post(EVENTS, json={"events": sent}, headers=agent.headers).status_code == 200
    log_in(client, tenant.readonly.email)
    page = client.get(f"/agents/{agent.id}/timeline")
    labels = re.findall(
        r'<text class="lane-label"[^>]*><title>([^<]*)</title>([^<]*)</text>', page.text
    )
    sessions = {title: shown for title, shown in labels if title.startswith("S-1-5")}
    assert set(sessions) == set(sids), "the whole SID on hover"
    assert len(set(sessions.values())) == 2, f"two lanes, two labels: {sessions}"
    assert all(shown.endswith(sid[-4:]) for sid, shown in sessions.items())


def test_event_data_shows_insertion_strings_resolved(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    csrf = log_in(client, tenant.operator.email)
    record = {
        "log_name": "Security",
        "provider": "Microsoft-Windows-Security-Auditing",
        "event_id": 4625,
        "level": 0,
        "record_id": "77",
        "time_created": "2026-03-01T08:00:00Z",
        "data": {"TargetUserName": "bob", "FailureReason": "%%2313", "Status": "%%9999"},
        "message": "",
    }
    found = {"ok": True, "data": {"records": [record]}}
    with AgentChannel(client, agent.key, answer=lambda _c: found) as channel:
        assert channel.next_frame()["type"] == "welcome"
        page = client.post(
            f"/agents/{agent.id}/events", data={"log": "Security", "csrf_token": csrf}
        )
    summary = re.search(r"<summary>([^<]*)</summary>", html.unescape(page.text))
    assert summary, page.text
    assert "FailureReason=Unknown user name or bad password." in summary.group(1)
    assert "Status=%%9999" in summary.group(1), "an unknown one is shown as it is"
