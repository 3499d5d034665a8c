"""The provider round trip end to end, syncs: integrations created with credentials
through the API, webhooks posted, syncs asked for, and the REAL NinjaOne and Tactical
clients talking to fake vendor APIs on real sockets (tests/support/fake_ninjaone.py,
fake_tactical.py). SQLite: the storage under it is tested on both engines elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.alerts import AlertStatus
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, TenantFixture, make_tenant
from tests.support.fake_api import Answer, Request, serve
from tests.support.fake_ninjaone import FakeNinjaOne, fake_ninjaone
from tests.support.fake_tactical import fake_tactical
from tests.support.pipeline import (
    alert,
    post,
    sample,
    ticket,
    tickets,
)
from tests.support.round_trip import (
    NINJA_CREDENTIALS,
    alerts_listed,
    connect,
    counts,
    expect,
    ninja_integration,
    ninja_trigger,
    sync,
    tactical_integration,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


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
