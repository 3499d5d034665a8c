"""Watch-rule matches from agents become alerts and tickets, on both engines, over HTTP."""

from __future__ import annotations

import gzip
import threading
import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.alerts import AlertStatus, Provider, Severity
from fleetward.domain.rules import RuleConditions
from tests.conftest import TenantFixture, make_tenant
from tests.integration.test_pages import log_in
from tests.support.agents import T0, EnrolledAgent, enrolled_agent, make_site, make_token
from tests.support.api import assert_error
from tests.support.eventlog import (
    MATCHES,
    WATCHES,
    agent_integrations,
    alerts,
    client_of_site,
    integrations,
    match,
    new_watch,
    record,
    send,
)
from tests.support.pipeline import add_rule, comments, tickets


@pytest.fixture
def agent(client: TestClient, tenant: TenantFixture) -> EnrolledAgent:
    return enrolled_agent(client, tenant)


@pytest.fixture
def rule(client: TestClient, tenant: TenantFixture, agent: EnrolledAgent) -> dict[str, Any]:
    return new_watch(client, tenant, {"type": "site", "id": agent.site_id})


@pytest.fixture
def catch_all(container: Container, tenant: TenantFixture) -> None:
    add_rule(container, tenant.id)


def nothing_stored(container: Container, *tenant_ids: uuid.UUID) -> bool:
    return all(not alerts(container, t) and not tickets(container, t) for t in tenant_ids)


@pytest.mark.usefixtures("catch_all")
def test_a_match_becomes_an_alert_and_a_ticket_and_a_resend_changes_nothing(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    batch = [match(rule, 4242)]
    first = send(client, agent, batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 1, "duplicates": 0, "ignored": 0}

    (made,) = alerts(container, tenant.id)
    assert made.provider is Provider.AGENT
    assert made.external_alert_id == f"evtlog:{agent.id}:{rule['id']}:4242"
    assert made.severity is Severity.MAJOR
    assert made.device_external_id == agent.id and made.device_name == "WS-01"
    assert made.condition_identity == f"evtlog:{rule['id']}"
    assert made.title == "Disk errors: disk 7"
    assert made.message == record(4242)["message"]
    assert made.occurred_at == T0 + timedelta(minutes=4242)
    assert (made.alert_class, made.source_type) == ("System", "eventlog")
    (opened,) = tickets(container, tenant.id)
    assert made.ticket_id == opened.id
    assert opened.client_id == client_of_site(container, tenant.id, agent.site_id)
    assert opened.title == "WS-01: Disk errors: disk 7"

    # The alert shows to people like any other, with the record as its raw body.
    shown = client.get(f"/api/v1/alerts/{made.id}", headers=tenant.readonly.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["provider"] == "agent"

    again = send(client, agent, batch)
    assert again.json() == {"accepted": 0, "duplicates": 1, "ignored": 0}
    assert alerts(container, tenant.id) == [made]
    assert tickets(container, tenant.id) == [opened]
    # Only the ticket's opening comment (#15: the alert's details): the resend adds none.
    (opening,) = comments(container, tenant.id, opened.id)
    assert opening.body.startswith("Opened for alert: ")
    assert len(agent_integrations(container, tenant.id)) == 1


@pytest.mark.usefixtures("catch_all")
def test_the_same_rule_again_on_the_same_machine_re_triggers_its_ticket(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    assert send(client, agent, [match(rule, 1)]).json()["accepted"] == 1
    # A batch holding a repeat of itself counts the repeat as a duplicate.
    answer = send(client, agent, [match(rule, 2), match(rule, 2)])
    assert answer.json() == {"accepted": 1, "duplicates": 1, "ignored": 0}
    (only,) = tickets(container, tenant.id)
    assert only.occurrence_count == 2
    assert [c.body for c in comments(container, tenant.id, only.id)][1:] == [
        "Alert re-triggered: occurrence 2"
    ]
    assert len(alerts(container, tenant.id)) == 2

    # Another machine of the same site gets its own ticket for the same rule.
    token = make_token(client, tenant, agent.site_id)["token"]
    other = client.post(
        "/api/v1/agent/enroll",
        json={"token": token, "hostname": "WS-02", "os": "Windows 11", "agent_version": "0.1.0"},
    ).json()
    second = EnrolledAgent(other["agent_id"], other["agent_key"], agent.site_id)
    assert send(client, second, [match(rule, 1)]).json()["accepted"] == 1
    assert len(tickets(container, tenant.id)) == 2


@pytest.mark.usefixtures("catch_all")
def test_a_match_inside_a_maintenance_window_of_its_client_is_suppressed(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    client_id = client_of_site(container, tenant.id, agent.site_id)
    window = client.post(
        "/api/v1/maintenance-windows",
        json={
            "name": "Patch night",
            "client_id": str(client_id),
            "starts_at": T0.isoformat(),
            "ends_at": (T0 + timedelta(hours=1)).isoformat(),
        },
        headers=tenant.admin.headers,
    )
    assert window.status_code == 201, window.text
    inside, after = match(rule, 30), match(rule, 90)  # minutes after T0
    assert send(client, agent, [inside]).json() == {"accepted": 1, "duplicates": 0, "ignored": 0}
    (suppressed,) = alerts(container, tenant.id)
    assert suppressed.status is AlertStatus.SUPPRESSED
    assert tickets(container, tenant.id) == []

    send(client, agent, [after])
    assert len(tickets(container, tenant.id)) == 1


@pytest.mark.usefixtures("catch_all")
def test_another_tenants_rule_creates_nothing_in_either_tenant(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    add_rule(container, other_tenant.id)
    theirs = new_watch(client, other_tenant, {"type": "tenant"})
    their_agent = enrolled_agent(client, other_tenant, "GLOBEX-01")

    # Each agent names the other tenant's rule, with records both rules match.
    assert send(client, agent, [match(theirs, 1)]).json() == {
        "accepted": 0,
        "duplicates": 0,
        "ignored": 1,
    }
    assert send(client, their_agent, [match(rule, 1)]).json()["ignored"] == 1
    assert nothing_stored(container, tenant.id, other_tenant.id)
    assert agent_integrations(container, tenant.id) == []
    assert agent_integrations(container, other_tenant.id) == []

    # Their own rule works for their own agent, and only in their tenant.
    assert send(client, their_agent, [match(theirs, 1)]).json()["accepted"] == 1
    assert len(alerts(container, other_tenant.id)) == 1
    assert nothing_stored(container, tenant.id)


@pytest.mark.usefixtures("catch_all")
def test_rules_that_do_not_apply_or_do_not_match_are_ignored(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    elsewhere = new_watch(client, tenant, {"type": "site", "id": make_site(client, tenant)})
    disabled = new_watch(client, tenant, {"type": "tenant"}, enabled=False)
    deleted = new_watch(client, tenant, {"type": "agent", "id": agent.id})
    gone = client.delete(f"{WATCHES}/{deleted['id']}", headers=tenant.admin.headers)
    assert gone.status_code == 204, gone.text
    batch = [
        match(elsewhere, 1),  # scoped to another site
        match(disabled, 2),
        match(deleted, 3),
        match(str(uuid.uuid4()), 4),  # never existed
        match(rule, 5, event_id=8),  # the rule watches id 7
        match(rule, 6, provider="Ntfs"),
        match(rule, 7, level=4),  # information; the rule wants warning or worse
        match(rule, 8, log_name="Application"),
    ]
    answer = send(client, agent, batch)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 0, "duplicates": 0, "ignored": len(batch)}
    assert nothing_stored(container, tenant.id)

    # One good match among the ignored ones goes through on its own.
    answer = send(client, agent, [*batch, match(rule, 9)])
    assert answer.json() == {"accepted": 1, "duplicates": 0, "ignored": len(batch)}


@pytest.mark.usefixtures("catch_all")
def test_keywords_are_checked_by_the_server_too(
    client: TestClient, container: Container, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    keyed = new_watch(client, tenant, {"type": "tenant"}, keywords=["bad block"])
    answer = send(client, agent, [match(keyed, 1), match(keyed, 2, message="all is well")])
    assert answer.json() == {"accepted": 1, "duplicates": 0, "ignored": 1}
    # Without a rendered message the data values are searched, and make the alert's text.
    data_only = match(keyed, 3, message="", data={"Detail": "a BAD BLOCK on disk 0"})
    assert send(client, agent, [data_only]).json()["accepted"] == 1
    texts = {a.external_alert_id.rsplit(":", 1)[1]: a.message for a in alerts(container, tenant.id)}
    assert texts["3"] == "disk event 7 in System\nDetail: a BAD BLOCK on disk 0"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"rule_id": "not-a-uuid"}, "matches.3.rule_id"),
        ({"rule_id": 7}, "matches.3.rule_id"),
        ({"record": None}, "matches.3.record"),
        ({"colour": "red"}, "matches.3.colour"),
        ({"record": {**record(1), "event_id": "7"}}, "matches.3.record.event_id"),
        ({"record": {**record(1), "event_id": 70000}}, "matches.3.record.event_id"),
        ({"record": {**record(1), "level": True}}, "matches.3.record.level"),
        (
            {"record": {**record(1), "time_created": "2025-03-01T08:00:00"}},
            "matches.3.record.time_created",
        ),
        ({"record": {**record(1), "record_id": ""}}, "matches.3.record.record_id"),
        ({"record": {**record(1), "data": {"Code": 5}}}, "matches.3.record.data.Code"),
        ({"record": {**record(1), "data": ["x"]}}, "matches.3.record.data"),
        ({"record": {**record(1), "message": "m" * 40_000}}, "matches.3.record.message"),
        ({"record": {**record(1), "shoe_size": 44}}, "matches.3.record.shoe_size"),
        (
            {"record": {k: v for k, v in record(1).items() if k != "provider"}},
            "matches.3.record.provider",
        ),
    ],
)
@pytest.mark.usefixtures("catch_all")
def test_one_bad_match_refuses_the_whole_batch_naming_its_field(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
    item: dict[str, Any],
    field: str,
) -> None:
    batch = [match(rule, i) for i in range(6)]
    batch[3] = {**batch[3], **item}
    assert_error(send(client, agent, batch), 422, "invalid", field=field)
    assert nothing_stored(container, tenant.id), "nothing of a refused batch is kept"


def test_bad_batches_keys_and_bodies_are_4xx(
    client: TestClient, container: Container, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    for body in ({}, {"matches": {}}, {"matches": "x"}, [], {"events": []}):
        assert_error(client.post(MATCHES, json=body, headers=agent.headers), 422, "invalid")
    too_many = {"matches": [match(str(uuid.uuid4()), i) for i in range(5_001)]}
    gzipped = {**agent.headers, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    big = client.post(MATCHES, content=gzip.compress(orjson.dumps(too_many)), headers=gzipped)
    assert "5000" in assert_error(big, 413, "too_large", field="matches")["message"]
    assert_error(client.post(MATCHES, content=b"not gzip", headers=gzipped), 422, field="body")
    assert_error(client.post(MATCHES, content=b"{", headers=agent.headers), 422, field="body")
    bad_key = {"Authorization": "Bearer fwa_not-a-key"}
    assert_error(client.post(MATCHES, json={"matches": []}, headers=bad_key), 401)
    assert_error(client.post(MATCHES, json={"matches": []}), 401)
    # A person's API key is not an agent's.
    assert_error(client.post(MATCHES, json={"matches": []}, headers=tenant.admin.headers), 401)
    assert nothing_stored(container, tenant.id)


@pytest.mark.usefixtures("catch_all")
def test_gzip_batches_and_a_revoked_agent(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    body = gzip.compress(orjson.dumps({"matches": [match(rule, i) for i in range(1, 201)]}))
    headers = {**agent.headers, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    answer = client.post(MATCHES, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 200, "duplicates": 0, "ignored": 0}
    (only,) = tickets(container, tenant.id)
    assert only.occurrence_count == 200

    revoked = client.post(f"/api/v1/agents/{agent.id}/revoke", headers=tenant.admin.headers)
    assert revoked.status_code == 200, revoked.text
    assert_error(send(client, agent, [match(rule, 999)]), 401)
    assert len(alerts(container, tenant.id)) == 200


def test_the_built_in_integration_is_listed_but_not_creatable_changeable_or_a_webhook(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    h = tenant.admin.headers
    made = client.post(
        "/api/v1/integrations", json={"provider": "agent", "name": "Mine"}, headers=h
    )
    assert_error(made, 422, "invalid", field="provider")
    assert integrations(container, tenant.id) == []

    send(client, agent, [match(rule, 1)])  # no alert rule: recorded only, but made on need
    listed = client.get("/api/v1/integrations", headers=tenant.readonly.headers).json()["items"]
    (built_in,) = [i for i in listed if i["provider"] == "agent"]
    assert built_in["name"] == "Fleetward agents"
    iid = built_in["id"]

    for response in (
        client.patch(f"/api/v1/integrations/{iid}", json={"enabled": False}, headers=h),
        client.delete(f"/api/v1/integrations/{iid}", headers=h),
        client.post(f"/api/v1/integrations/{iid}/rotate-secret", headers=h),
        client.post(
            f"/api/v1/integrations/{iid}/mappings",
            json={"external_org_id": "7", "client_id": str(uuid.uuid4())},
            headers=h,
        ),
    ):
        assert "built in" in assert_error(response, 409, "conflict")["message"]
    (asset,) = client.get(f"/api/v1/integrations/{iid}/assets", headers=h).json()["items"]
    assert asset["external_device_id"] == agent.id
    assert asset["client_id"] == str(client_of_site(container, tenant.id, agent.site_id))
    moved = client.patch(
        f"/api/v1/integrations/{iid}/assets/{asset['id']}", json={"client_id": None}, headers=h
    )
    assert_error(moved, 409, "conflict")

    # Roles first: who may not change integrations at all hears 403, not 409.
    patched = client.patch(
        f"/api/v1/integrations/{iid}", json={"name": "x"}, headers=tenant.operator.headers
    )
    assert_error(patched, 403, "forbidden")

    # The dashboard lists it and shows it, and does not offer it for a new integration.
    token = log_in(client, tenant.admin.email)
    page = client.get("/integrations")
    assert page.status_code == 200 and "Fleetward agents (built in)" in page.text
    assert 'value="agent"' not in page.text
    shown = client.get(f"/integrations/{iid}")
    assert shown.status_code == 200 and 'data-testid="built-in"' in shown.text
    for control in ("Rotate secret", "Add mapping", "webhook-url", ">Assign<", "Dead letters"):
        assert control not in shown.text, control
    form = {"provider": "agent", "name": "Mine", "csrf_token": token}
    assert client.post("/integrations", data=form).status_code == 422

    # A webhook to it answers as an unknown integration does, whatever it sends.
    unknown = client.post(
        f"/api/v1/webhooks/{uuid.uuid4()}", json={}, headers={"X-Fleetward-Token": "x"}
    )
    for headers in ({"X-Fleetward-Token": "x"}, {"Authorization": "Bearer fwh_guess"}, {}):
        refused = client.post(f"/api/v1/webhooks/{iid}", json={"id": 1}, headers=headers)
        assert (refused.status_code, refused.json()) == (401, unknown.json())
    (only,) = alerts(container, tenant.id)
    assert only.status is AlertStatus.ACTIVE and only.ticket_id is None

    # Another tenant does not see it.
    assert_error(client.get(f"/api/v1/integrations/{iid}", headers=other_tenant.admin.headers), 404)


def test_the_built_in_integration_is_made_once_under_concurrent_first_matches(
    container: Container,
) -> None:
    fresh = make_tenant(container, "Initech MSP")
    found: list[uuid.UUID] = []
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def first_need() -> None:
        try:
            start.wait()
            found.append(container.eventlog_alerts.integration_for(fresh.id).id)
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=first_need) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(set(found)) == 1 and len(found) == 4
    assert [i.id for i in agent_integrations(container, fresh.id)] == found[:1]


def test_a_person_owning_the_name_does_not_block_the_built_in_integration(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    taken = client.post(
        "/api/v1/integrations",
        json={"provider": "generic", "name": "Fleetward agents"},
        headers=tenant.admin.headers,
    )
    assert taken.status_code == 201, taken.text
    assert send(client, agent, [match(rule, 1)]).json()["accepted"] == 1
    (built_in,) = agent_integrations(container, tenant.id)
    assert built_in.name == "Fleetward agents (built in)"


def test_alert_rules_see_event_log_fields_like_any_alert(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    client_id = client_of_site(container, tenant.id, agent.site_id)
    add_rule(
        container, tenant.id, "security only", RuleConditions(alert_classes=frozenset({"Security"}))
    )
    assert send(client, agent, [match(rule, 1)]).json()["accepted"] == 1
    (recorded,) = alerts(container, tenant.id)
    assert recorded.ticket_id is None and recorded.client_id == client_id

    add_rule(
        container,
        tenant.id,
        "disk trouble at this client",
        RuleConditions(
            activity_types=frozenset({"EVENT_LOG"}),
            source_types=frozenset({"eventlog"}),
            alert_classes=frozenset({"System"}),
            severities=frozenset({Severity.MAJOR}),
            client_ids=frozenset({client_id}),
            keywords=("bad block",),
        ),
    )
    assert send(client, agent, [match(rule, 2)]).json()["accepted"] == 1
    (opened,) = tickets(container, tenant.id)
    ticketed = [a for a in alerts(container, tenant.id) if a.ticket_id == opened.id]
    assert [a.external_alert_id for a in ticketed] == [f"evtlog:{agent.id}:{rule['id']}:2"]


@pytest.mark.usefixtures("catch_all")
def test_a_match_with_nul_control_characters_or_a_lone_surrogate_is_stored_cleaned(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    rule: dict[str, Any],
) -> None:
    """On both engines (PostgreSQL refuses NUL): the alert is kept, its text cleaned,
    rather than the batch refused and the agent's match lost."""
    sent = match(
        rule,
        77,
        message="bad block\\r\\nnul \\u0000 here \\ud83d",
        computer="WS-01\\u0007",
        data={"Device\\u0000Name": "disk\\tzero \\u001b[2J"},
    )
    # Written by hand: a lone surrogate escape cannot be made by an encoder.
    body = orjson.dumps({"matches": [sent]}).decode().replace("\\\\", "\\")
    answer = client.post(MATCHES, content=body.encode(), headers=agent.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1, "duplicates": 0, "ignored": 0}
    (made,) = alerts(container, tenant.id)
    assert made.message == "bad block\nnul \ufffd here \ufffd"
    shown = client.get(f"/api/v1/alerts/{made.id}", headers=tenant.readonly.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["message"] == made.message
    assert len(tickets(container, tenant.id)) == 1
