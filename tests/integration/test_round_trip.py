"""The provider round trip end to end, as a person drives it: integrations created
with credentials through the API, webhooks posted, syncs asked for, tickets closed,
and the REAL NinjaOne and Tactical clients talking to fake vendor APIs on real
sockets (tests/support/fake_ninjaone.py, fake_tactical.py). SQLite: the storage
under it is tested on both engines elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.adapters.outbound import OutboundHttp
from fleetward.adapters.providers.apis import provider_api
from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.alerts import AlertStatus
from fleetward.domain.forwarding import parse_networks
from fleetward.domain.rules import RuleActions
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, Actor, TenantFixture, make_tenant
from tests.integration.test_outbound_reset import Clock, alert_of, close_ticket, run_jobs
from tests.support.fake_api import Answer, Request, serve
from tests.support.fake_ninjaone import CLIENT_ID, CLIENT_SECRET, FakeNinjaOne, fake_ninjaone
from tests.support.fake_tactical import API_KEY, FakeTactical, fake_tactical
from tests.support.pipeline import (
    add_rule,
    alert,
    make_client,
    map_org,
    post,
    sample,
    ticket,
    tickets,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

NINJA_CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
COUNTS = ("created", "resolved", "reevaluated", "unchanged", "errors")


class Waits(list[float]):
    """The provider clients' backoff waits: recorded, never slept."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The fakes listen on 127.0.0.1, which the outbound policy refuses unless listed.
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        log_json=True,
        outbound_allow_cidrs="127.0.0.0/8",
    )


@pytest.fixture
def container(settings: Settings, clock: Clock, waits: Waits) -> Iterator[Container]:
    apis = provider_api(OutboundHttp(parse_networks(settings.outbound_allow_cidrs)), sleep=waits)
    c = build(settings, clock=clock, passwords=FAST_PASSWORDS, provider_apis=apis)
    yield c
    c.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as tc:
        yield tc


# What a person does


def connect(
    client: TestClient,
    tenant: TenantFixture,
    container: Container,
    provider: str,
    url: str,
    credentials: dict[str, str],
    org: str | int,
    **actions: Any,
) -> dict[str, Any]:
    """An integration with its API's address and credentials, its organisation mapped
    to a client, and a catch-all rule with `actions`."""
    answer = client.post(
        "/api/v1/integrations",
        json={
            "provider": provider,
            "name": f"{provider} {uuid.uuid4().hex[:6]}",
            "settings": {"api_base_url": url},
            "credentials": credentials,
        },
        headers=tenant.admin.headers,
    )
    assert answer.status_code == 201, answer.text
    integration: dict[str, Any] = answer.json()
    map_org(client, tenant, integration, org, make_client(client, tenant, "Contoso"))
    add_rule(container, tenant.id, actions=RuleActions(**actions))
    return integration


def ninja_integration(
    client: TestClient,
    tenant: TenantFixture,
    container: Container,
    ninja: FakeNinjaOne,
    **actions: Any,
) -> dict[str, Any]:
    return connect(
        client, tenant, container, "ninjaone", ninja.url, NINJA_CREDENTIALS, 7, **actions
    )


def tactical_integration(
    client: TestClient, tenant: TenantFixture, container: Container, tactical: FakeTactical
) -> dict[str, Any]:
    credentials = {"api_key": API_KEY}
    return connect(
        client, tenant, container, "tacticalrmm", tactical.url, credentials, "Contoso Ltd"
    )


def sync(client: TestClient, integration: dict[str, Any], who: Actor) -> dict[str, Any]:
    answer = client.post(f"/api/v1/integrations/{integration['id']}/sync", headers=who.headers)
    assert answer.status_code == 200, answer.text
    run: dict[str, Any] = answer.json()
    return run


def counts(run: dict[str, Any]) -> dict[str, int]:
    return {name: run[name] for name in COUNTS}


def expect(**changed: int) -> dict[str, int]:
    return {name: changed.get(name, 0) for name in COUNTS}


def alerts_listed(client: TestClient, tenant: TenantFixture) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/alerts", headers=tenant.readonly.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def ninja_trigger(activity_id: int = 918273) -> dict[str, Any]:
    body = sample("ninjaone", "condition_triggered")
    body["id"] = activity_id
    return body


# 1. A missed webhook


def test_a_missed_ninjaone_webhook_is_healed_by_a_sync_and_arrives_late_as_a_duplicate(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    with fake_ninjaone() as ninja:
        integration = ninja_integration(client, tenant, container, ninja)
        body = ninja_trigger()
        ninja.trigger(body)  # NinjaOne fired; the webhook never reached Fleetward

        run = sync(client, integration, tenant.operator)
        assert run["status"] == "succeeded", run["error"]
        assert counts(run) == expect(created=1)
        [healed] = alerts_listed(client, tenant)
        assert healed["external_alert_id"] == "918273"
        [opened] = tickets(container, tenant.id)
        assert healed["ticket_id"] == str(opened.id)

        late = post(client, integration, body)
        assert late.status_code == 200 and late.json()["result"] == "duplicate"
        assert counts(sync(client, integration, tenant.operator)) == expect(unchanged=1)
    assert [a["id"] for a in alerts_listed(client, tenant)] == [healed["id"]]
    assert tickets(container, tenant.id) == [opened]


# 2. A reset missed while Fleetward was down


def test_a_reset_missed_while_down_is_healed_by_a_sync_and_closes_the_ticket_per_rule(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    with fake_ninjaone() as ninja:
        integration = ninja_integration(client, tenant, container, ninja, auto_resolve_ticket=True)
        body = ninja_trigger()
        ninja.trigger(body)
        alert_id = post(client, integration, body).json()["alert_id"]
        ninja.alerts.clear()  # reset at NinjaOne while Fleetward was down: no webhook came

        run = sync(client, integration, tenant.operator)
    assert counts(run) == expect(resolved=1)
    resolved = alert(container, tenant.id, alert_id)
    assert resolved.status is AlertStatus.AUTO_RESOLVED
    assert resolved.ticket_id is not None
    assert ticket(container, tenant.id, resolved.ticket_id).is_closed
    assert ninja.resets == []  # Fleetward does not reset what is already gone


# 3. A window that ended while its alert is still active


def test_an_alert_still_active_when_its_window_ended_gets_exactly_one_ticket(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    window = client.post(
        "/api/v1/maintenance-windows",
        json={
            "name": "Patch night",
            "starts_at": "2024-04-01T00:00:00Z",
            "ends_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        },
        headers=tenant.admin.headers,
    )
    assert window.status_code == 201, window.text
    with fake_ninjaone() as ninja:
        integration = ninja_integration(client, tenant, container, ninja)
        body = ninja_trigger()
        ninja.trigger(body)
        assert post(client, integration, body).json()["result"] == "suppressed"
        assert counts(sync(client, integration, tenant.operator)) == expect(unchanged=1)
        assert tickets(container, tenant.id) == []

        ended = client.patch(
            f"/api/v1/maintenance-windows/{window.json()['id']}",
            json={"ends_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
            headers=tenant.admin.headers,
        )
        assert ended.status_code == 200, ended.text
        first = sync(client, integration, tenant.operator)
        second = sync(client, integration, tenant.operator)
    assert counts(first) == expect(reevaluated=1)
    assert counts(second) == expect(unchanged=1)
    [only] = tickets(container, tenant.id)
    [shown] = alerts_listed(client, tenant)
    assert shown["status"] == "active" and shown["ticket_id"] == str(only.id)


# 4. A webhook and a poll of one alert


def test_a_ninjaone_webhook_and_a_poll_of_one_alert_are_one_alert_and_one_ticket(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    with fake_ninjaone() as ninja:
        integration = ninja_integration(client, tenant, container, ninja)
        body = ninja_trigger()
        ninja.trigger(body)
        first = post(client, integration, body).json()
        run = sync(client, integration, tenant.operator)
    assert counts(run) == expect(unchanged=1)
    assert [a["id"] for a in alerts_listed(client, tenant)] == [first["alert_id"]]
    assert len(tickets(container, tenant.id)) == 1


def test_a_ninjaone_webhook_without_series_and_its_poll_stay_one_active_alert(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    """The webhook carried no seriesUid (held by "<source config>:<device>"); the API
    lists the alert by its uid. The sync must see one alert still active, not resolve
    it as gone (and close its ticket) while NinjaOne still has it."""
    body = sample("ninjaone", "condition_triggered_no_series")
    with fake_ninjaone() as ninja:
        integration = connect(
            client,
            tenant,
            container,
            "ninjaone",
            ninja.url,
            NINJA_CREDENTIALS,
            12,
            auto_resolve_ticket=True,
        )
        first = post(client, integration, body).json()
        uid = "5e1f0000-0000-4000-8000-000000000001"
        ninja.trigger(body | {"seriesUid": uid, "device": {"id": 3301, "organizationId": 12}})
        run = sync(client, integration, tenant.operator)
        again = sync(client, integration, tenant.operator)
    assert counts(run) == counts(again) == expect(unchanged=1)
    [shown] = alerts_listed(client, tenant)
    assert (shown["id"], shown["status"]) == (first["alert_id"], "active")
    [opened] = tickets(container, tenant.id)
    assert not opened.is_closed


def test_a_tactical_poll_then_its_webhook_are_one_alert_and_one_ticket(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    with fake_tactical() as tactical:
        integration = tactical_integration(client, tenant, container, tactical)
        body = sample("tacticalrmm", "alert_trigger")
        tactical.trigger(body)
        run = sync(client, integration, tenant.operator)
        late = post(client, integration, body)
    assert counts(run) == expect(created=1)
    assert late.status_code == 200 and late.json()["result"] == "duplicate", late.text
    assert len(alerts_listed(client, tenant)) == 1
    assert len(tickets(container, tenant.id)) == 1


def test_a_tactical_webhook_without_alert_id_and_its_poll_stay_one_active_alert(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    """A web hook template without alert_id: held by "<agent>:<condition>", while the
    API names the alert by its id. The sync must not resolve it and open another."""
    body = sample("tacticalrmm", "alert_trigger")
    with fake_tactical() as tactical:
        integration = tactical_integration(client, tenant, container, tactical)
        tactical.trigger(body)
        first = post(client, integration, body | {"alert_id": "None"}).json()
        run = sync(client, integration, tenant.operator)
        again = sync(client, integration, tenant.operator)
    assert counts(run) == counts(again) == expect(unchanged=1)
    [shown] = alerts_listed(client, tenant)
    assert (shown["id"], shown["status"]) == (first["alert_id"], "active")
    assert len(tickets(container, tenant.id)) == 1


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


# 8. An OAuth token that expires in the middle of a run


class ExpiresMidRun(FakeNinjaOne):
    """NinjaOne ending every token right after it answered the first alert list, so
    the same run's next call (the activity log) is refused with 401."""

    def __init__(self) -> None:
        super().__init__()
        self.expired = False

    def handle(self, request: Request) -> Answer:
        answer = super().handle(request)
        if request.path == "/v2/alerts" and answer.status == 200 and not self.expired:
            self.expired = True
            self.expire_tokens()
        return answer


def test_a_token_expiring_in_the_middle_of_a_run_is_fetched_again_once_and_the_run_succeeds(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    with serve(ExpiresMidRun()) as ninja:
        integration = ninja_integration(client, tenant, container, ninja)
        ninja.trigger(ninja_trigger())
        run = sync(client, integration, tenant.operator)
        activities = ninja.calls("GET", "/v2/activities")
    assert run["status"] == "succeeded" and counts(run) == expect(created=1)
    assert ninja.token_requests == 2
    assert [
        a.headers["Authorization"] == activities[-1].headers["Authorization"] for a in activities
    ] == [
        False,
        True,
    ]


# 9. The command line


def test_the_cli_sync_talks_to_the_provider_and_prints_the_run_counts(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    with fake_ninjaone() as ninja:
        c = build(settings, passwords=FAST_PASSWORDS)
        try:
            tenant = make_tenant(c, "Acme MSP")
            with TestClient(create_app(c)) as http:
                integration = ninja_integration(http, tenant, c, ninja)
        finally:
            c.close()
        ninja.trigger(ninja_trigger())
        env = {
            **os.environ,
            "FLEETWARD_DATABASE_URL": database_url,
            "FLEETWARD_DATA_DIR": str(tmp_path),
            "FLEETWARD_OUTBOUND_ALLOW_CIDRS": "127.0.0.0/8",
        }
        done = subprocess.run(
            [sys.executable, "-m", "fleetward", "integrations", "sync", integration["id"]],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ninja.token_requests == 1 and ninja.calls("GET", "/v2/alerts")
    assert done.returncode == 0, done.stderr
    printed = " ".join(done.stdout.split())  # the console wraps at its width
    assert f"sync run {printed.split()[2]} succeeded: created 1, resolved 0," in printed
    assert "reevaluated 0, unchanged 0, errors 0" in printed
    assert "Traceback" not in done.stdout + done.stderr


# 10. The outbound policy


def test_without_allowed_loopback_a_sync_is_refused_by_the_outbound_policy_and_recorded(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, log_json=True)
    c = build(settings, passwords=FAST_PASSWORDS)  # the real factory, nothing allowed
    try:
        tenant = make_tenant(c, "Acme MSP")
        with fake_ninjaone() as ninja, TestClient(create_app(c)) as http:
            integration = ninja_integration(http, tenant, c, ninja)
            ninja.trigger(ninja_trigger())
            run = sync(http, integration, tenant.operator)
            listed = http.get(
                f"/api/v1/integrations/{integration['id']}/sync-runs",
                headers=tenant.readonly.headers,
            ).json()["items"]
            assert alerts_listed(http, tenant) == []
        assert ninja.requests == []
    finally:
        c.close()
    assert run["status"] == "failed" and "outbound policy" in run["error"]
    assert "FLEETWARD_OUTBOUND_ALLOW_CIDRS" in run["error"]
    assert [(r["id"], r["status"]) for r in listed] == [(run["id"], "failed")]
