"""The provider round trip end to end, resets: closing a ticket resets its alerts at
the fake NinjaOne and Tactical APIs through the REAL clients, once, with failures shown
on the alert and retried. SQLite: the storage under it is tested on both engines
elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.integration.test_outbound_reset import alert_of, close_ticket, run_jobs
from tests.support.clocks import AheadClock as Clock
from tests.support.fake_ninjaone import fake_ninjaone
from tests.support.fake_tactical import API_KEY, fake_tactical
from tests.support.pipeline import (
    post,
    sample,
    tickets,
)
from tests.support.round_trip import (
    Waits,
    alerts_listed,
    counts,
    expect,
    ninja_integration,
    ninja_trigger,
    sync,
    tactical_integration,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


# 5. Ticket close: one reset at the provider, failures shown and retried


def test_closing_a_ticket_resets_the_ninjaone_alert_exactly_once_with_the_ticket_reference(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    with fake_ninjaone() as ninja:
        integration = ninja_integration(client, tenant, container, ninja)
        body = ninja_trigger()
        ninja.trigger(body)
        alert_id = post(client, integration, body).json()["alert_id"]
        closed = close_ticket(client, tenant.operator, alert_id)
        assert closed.status_code == 200, closed.text
        assert run_jobs(container) == 1
        assert run_jobs(container) == 0
        # The close replayed (the same PATCH again): nothing more reaches NinjaOne.
        replayed = client.patch(
            f"/api/v1/tickets/{closed.json()['id']}",
            json={"status_id": closed.json()["status_id"]},
            headers=tenant.operator.headers,
        )
        assert replayed.status_code == 200, replayed.text
        run_jobs(container)
        posts = ninja.calls("POST", "/v2/alert/")
    assert len(posts) == 1 and posts[0].path == f"/v2/alert/{body['seriesUid']}/reset"
    [(uid, data)] = ninja.resets
    assert uid == body["seriesUid"] and data["source"] == "Fleetward"
    assert f"#{closed.json()['number']}" in data["ticket"]
    assert f"/tickets/{closed.json()['id']}" in data["ticket"]
    shown = alert_of(client, tenant.readonly, alert_id)
    assert shown["status"] == "resolved" and shown["outbound_error"] is None


def test_two_occurrences_of_one_ninjaone_alert_on_a_ticket_are_reset_there_once(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    with fake_ninjaone() as ninja:
        integration = ninja_integration(client, tenant, container, ninja)
        ninja.trigger(ninja_trigger(1))
        # NinjaOne sent the alert's trigger twice (two activities of one series): two
        # occurrences on one ticket, but one alert at NinjaOne.
        first = post(client, integration, ninja_trigger(1)).json()["alert_id"]
        second = post(client, integration, ninja_trigger(2)).json()["alert_id"]
        assert len(tickets(container, tenant.id)) == 1
        assert close_ticket(client, tenant.operator, first).status_code == 200
        assert run_jobs(container) == 1 and run_jobs(container) == 0
        posts = ninja.calls("POST", "/v2/alert/")
    assert len(posts) == 1 and len(ninja.resets) == 1
    for alert_id in (first, second):
        assert alert_of(client, tenant.readonly, alert_id)["status"] == "resolved"
    later = alert_of(client, tenant.readonly, second)["trace"]["outbound"][-1]["result"]
    assert later == f"reset with alert {first}: the same ninjaone alert"


def test_a_ninjaone_outage_on_reset_is_shown_on_the_alert_and_retried_until_it_succeeds(
    client: TestClient,
    tenant: TenantFixture,
    container: Container,
    clock: Clock,
    waits: Waits,
) -> None:
    with fake_ninjaone() as ninja:
        integration = ninja_integration(client, tenant, container, ninja)
        body = ninja_trigger()
        ninja.trigger(body)
        alert_id = post(client, integration, body).json()["alert_id"]
        # Longer than the client's four attempts: the job itself fails.
        ninja.fail_next(500, times=4, path="/v2/alert/")
        closed = close_ticket(client, tenant.operator, alert_id)
        assert closed.status_code == 200 and closed.json()["is_closed"] is True

        assert run_jobs(container) == 1
        assert waits == [0.5, 1.0, 2.0]
        failed = alert_of(client, tenant.operator, alert_id)
        assert "HTTP 500" in failed["outbound_error"]
        assert "will retry" in failed["trace"]["outbound"][-1]["result"]
        outbound = client.get(
            f"/api/v1/alerts/{alert_id}/outbound", headers=tenant.readonly.headers
        )
        assert outbound.status_code == 200, outbound.text
        [job] = outbound.json()["items"]
        assert (job["kind"], job["status"], job["attempts"]) == ("provider.reset", "pending", 1)
        assert "HTTP 500" in job["last_error"]
        assert run_jobs(container) == 0  # not due before its backoff
        assert ninja.resets == []

        clock.ahead = timedelta(hours=1)
        assert run_jobs(container) == 1
        assert run_jobs(container) == 0
        assert len(ninja.calls("POST", "/v2/alert/")) == 5  # four refused, one done
    assert [uid for uid, _ in ninja.resets] == [body["seriesUid"]]
    healed = alert_of(client, tenant.operator, alert_id)
    assert healed["outbound_error"] is None
    assert healed["trace"]["outbound"][-1]["result"] == "reset at the provider"
    [job] = client.get(
        f"/api/v1/alerts/{alert_id}/outbound", headers=tenant.readonly.headers
    ).json()["items"]
    assert (job["status"], job["attempts"]) == ("done", 2)


# 6. The rule opted out


def test_a_rule_that_opted_out_sends_no_reset_to_ninjaone(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    with fake_ninjaone() as ninja:
        integration = ninja_integration(
            client, tenant, container, ninja, reset_alert_on_ticket_close=False
        )
        body = ninja_trigger()
        ninja.trigger(body)
        alert_id = post(client, integration, body).json()["alert_id"]
        assert close_ticket(client, tenant.operator, alert_id).status_code == 200
        run_jobs(container)
        assert ninja.requests == []
    assert [a["uid"] for a in ninja.alerts] == [body["seriesUid"]]  # still active there
    assert alert_of(client, tenant.operator, alert_id)["status"] == "resolved"


# 7. Tactical RMM: sync and resolve, with its API key


def test_tactical_active_alerts_are_synced_and_resolved_there_when_the_ticket_closes(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    first = sample("tacticalrmm", "alert_trigger")
    second = first | {"alert_id": "4818", "hostname": "FS02", "agent_id": "AgentTwo"}
    with fake_tactical() as tactical:
        integration = tactical_integration(client, tenant, container, tactical)
        tactical.trigger(first)
        tactical.trigger(second)
        tactical.trigger(first | {"alert_id": "4700"}, resolved=True)  # over already
        run = sync(client, integration, tenant.operator)
        assert counts(run) == expect(created=2)
        # Tactical's occurrence id is "<alert id>:<alert time>".
        by_id = {a["external_alert_id"].split(":")[0]: a for a in alerts_listed(client, tenant)}
        assert set(by_id) == {"4817", "4818"}

        assert close_ticket(client, tenant.operator, by_id["4817"]["id"]).status_code == 200
        assert run_jobs(container) == 1 and run_jobs(container) == 0
        [put] = tactical.calls("PUT", "/alerts/")
        assert tactical.resolves == [4817]
        assert all(r.headers.get("X-API-KEY") == API_KEY for r in tactical.requests)
        assert (put.path, put.json()) == ("/alerts/4817/", {"type": "resolve"})

        # The resolved alert is no longer listed: the next sync has nothing to heal.
        assert counts(sync(client, integration, tenant.operator)) == expect(unchanged=1)

        # A wrong key: the fake answers 401, the run fails with the reason, nobody sees a 500.
        patched = client.patch(
            f"/api/v1/integrations/{integration['id']}",
            json={"credentials": {"api_key": "WRONG"}},
            headers=tenant.admin.headers,
        )
        assert patched.status_code == 200, patched.text
        refused = sync(client, integration, tenant.operator)
    assert refused["status"] == "failed" and "HTTP 401" in refused["error"]
    assert "WRONG" not in refused["error"]
