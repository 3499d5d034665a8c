"""Reconciliation over HTTP against a hand-written provider API: what a sync heals,
and what it leaves alone (SQLite; the run storage's rules run on both engines in
test_sync_runs_storage.py)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.alerts import AlertStatus
from fleetward.domain.errors import ProviderApiError
from fleetward.domain.rules import RuleActions
from fleetward.domain.sync import SyncTrigger
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, TenantFixture
from tests.integration.test_domain_events import events
from tests.integration.test_pages import log_in
from tests.integration.test_webhook_pipeline import reset, trigger
from tests.support.aio import run_coroutine
from tests.support.fake_provider_api import FakeProviderApi, FakeProviders
from tests.support.pipeline import (
    add_rule,
    alert,
    comments,
    make_client,
    make_integration,
    map_org,
    post,
    ticket,
    tickets,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def providers() -> FakeProviders:
    return FakeProviders()


@pytest.fixture
def container(settings: Settings, providers: FakeProviders) -> Iterator[Container]:
    c = build(settings, passwords=FAST_PASSWORDS, provider_apis=providers)
    yield c
    c.close()


@pytest.fixture
def ninja(
    client: TestClient, tenant: TenantFixture, container: Container, providers: FakeProviders
) -> dict[str, Any]:
    """A NinjaOne integration (organisation 7 is Contoso), a catch-all rule that closes
    untouched tickets on reset, and the provider's API."""
    integration = make_integration(client, tenant, "ninjaone")
    integration["client_id"] = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, integration["client_id"])
    add_rule(container, tenant.id, actions=RuleActions(auto_resolve_ticket=True))
    integration["api"] = providers.add(integration["id"])
    with container.pipeline.uow.read() as repos:
        integration["model"] = repos.integrations.get(tenant.id, uuid.UUID(integration["id"]))
    return integration


def api_of(integration: dict[str, Any]) -> FakeProviderApi:
    found: FakeProviderApi = integration["api"]
    return found


def sync(client: TestClient, integration: dict[str, Any], who: Any) -> dict[str, Any]:
    answer = client.post(f"/api/v1/integrations/{integration['id']}/sync", headers=who.headers)
    assert answer.status_code == 200, answer.text
    run: dict[str, Any] = answer.json()
    return run


def counts(run: dict[str, Any]) -> dict[str, int]:
    return {k: run[k] for k in ("created", "resolved", "reevaluated", "unchanged", "errors")}


def test_a_missed_webhook_is_healed_and_its_late_webhook_changes_nothing(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    api_of(ninja).report(ninja["model"], trigger(1, "s1"))
    run = sync(client, ninja, tenant.operator)
    assert run["status"] == "succeeded" and run["error"] is None
    assert counts(run) == {
        "created": 1,
        "resolved": 0,
        "reevaluated": 0,
        "unchanged": 0,
        "errors": 0,
    }
    (opened,) = tickets(container, tenant.id)
    assert opened.title == "PC-1042: CPU usage above 90% for 5 minutes"

    late = post(client, ninja, trigger(1, "s1"))
    assert late.json()["result"] == "duplicate"
    assert tickets(container, tenant.id) == [opened]
    again = sync(client, ninja, tenant.operator)  # a replayed poll
    assert counts(again) == {**counts(run), "created": 0, "unchanged": 1}
    assert tickets(container, tenant.id) == [opened]
    # Only the opening comment: neither the late webhook nor the replayed poll added one.
    (opening,) = comments(container, tenant.id, opened.id)
    assert opening.body.startswith("Opened for alert: CPU usage above 90%")


def test_a_webhook_then_a_poll_of_one_alert_is_one_alert_and_one_ticket(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    first = post(client, ninja, trigger(1, "s1")).json()
    api_of(ninja).report(ninja["model"], trigger(1, "s1"))
    run = sync(client, ninja, tenant.admin)
    assert counts(run)["unchanged"] == 1 and counts(run)["created"] == 0
    listed = client.get("/api/v1/alerts", headers=tenant.readonly.headers).json()["items"]
    assert [a["id"] for a in listed] == [first["alert_id"]]
    assert len(tickets(container, tenant.id)) == 1


def test_a_reset_missed_while_down_resolves_the_alert_and_closes_its_untouched_ticket(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    gone = post(client, ninja, trigger(1, "s1")).json()["alert_id"]
    kept = post(client, ninja, trigger(2, "s2", device=2000)).json()["alert_id"]
    api_of(ninja).report(ninja["model"], trigger(2, "s2", device=2000))
    run = sync(client, ninja, tenant.operator)
    assert counts(run) == {
        "created": 0,
        "resolved": 1,
        "reevaluated": 0,
        "unchanged": 1,
        "errors": 0,
    }

    resolved = alert(container, tenant.id, gone)
    assert resolved.status is AlertStatus.AUTO_RESOLVED
    assert resolved.ticket_id is not None
    closed = ticket(container, tenant.id, resolved.ticket_id)
    assert closed.is_closed
    bodies = [c.body for c in comments(container, tenant.id, closed.id)]
    assert bodies[0].startswith("Opened for alert:")
    assert bodies[1].startswith("Alert no longer active at ninjaone (found by a sync)")
    assert bodies[-1].startswith("Closed automatically")
    assert alert(container, tenant.id, kept).status is AlertStatus.ACTIVE

    # The reset's own webhook, arriving late, finds nothing left to do.
    assert post(client, ninja, reset(3, "s1")).status_code == 200
    assert sync(client, ninja, tenant.operator)["resolved"] == 0
    assert ticket(container, tenant.id, closed.id).is_closed


def _window(client: TestClient, tenant: TenantFixture, ends_at: datetime) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/maintenance-windows",
        json={
            "name": "Patch night",
            "starts_at": "2024-04-01T00:00:00Z",
            "ends_at": ends_at.isoformat(),
        },
        headers=tenant.admin.headers,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_an_alert_still_active_when_its_window_ended_gets_exactly_one_ticket(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    window = _window(client, tenant, datetime.now(UTC) + timedelta(days=1))
    # Two occurrences of one problem (same device and condition) in the window.
    first = post(client, ninja, trigger(1, "s1")).json()
    second = post(client, ninja, trigger(2, "s2")).json()
    assert first["result"] == second["result"] == "suppressed"
    for activity, series in ((1, "s1"), (2, "s2")):
        api_of(ninja).report(ninja["model"], trigger(activity, series))

    during = sync(client, ninja, tenant.operator)
    assert counts(during) == {**counts(during), "reevaluated": 0, "unchanged": 2}
    assert tickets(container, tenant.id) == []

    ended = client.patch(
        f"/api/v1/maintenance-windows/{window['id']}",
        json={"ends_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
        headers=tenant.admin.headers,
    )
    assert ended.status_code == 200, ended.text
    after = sync(client, ninja, tenant.operator)
    assert counts(after) == {
        "created": 0,
        "resolved": 0,
        "reevaluated": 2,
        "unchanged": 0,
        "errors": 0,
    }
    (only,) = tickets(container, tenant.id)
    assert only.occurrence_count == 2
    for alert_id in (first["alert_id"], second["alert_id"]):
        now = alert(container, tenant.id, alert_id)
        assert now.status is AlertStatus.ACTIVE and now.ticket_id == only.id
        assert "window had ended" in now.trace["reevaluated"]
        assert now.trace["suppressed_by"] == ["Patch night"]
        assert now.trace["rules"][0]["result"] == "matched"
    # Out of suppression each is alert.triggered, with the document every such event has.
    triggered = [
        p["alert"] for kind, p in events(container, tenant.id) if kind == "alert.triggered"
    ]
    assert [(a["id"], a["status"], a["ticket_id"]) for a in triggered] == [
        (alert_id, "active", str(only.id)) for alert_id in (first["alert_id"], second["alert_id"])
    ]
    log_in(client, tenant.admin.email)
    page = client.get(f"/alerts/{first['alert_id']}")
    assert page.status_code == 200 and "Patch night" in page.text

    twice = sync(client, ninja, tenant.operator)
    assert counts(twice)["reevaluated"] == 0 and counts(twice)["unchanged"] == 2
    assert tickets(container, tenant.id) == [only]


def test_a_trigger_missed_during_an_ended_window_gets_its_ticket_in_the_same_run(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    _window(client, tenant, datetime.now(UTC) - timedelta(minutes=1))
    api_of(ninja).report(ninja["model"], trigger(1, "s1"))  # at a time the window covered
    run = sync(client, ninja, tenant.operator)
    assert counts(run) == {
        "created": 1,
        "resolved": 0,
        "reevaluated": 1,
        "unchanged": 0,
        "errors": 0,
    }
    assert len(tickets(container, tenant.id)) == 1
    assert counts(sync(client, ninja, tenant.operator))["unchanged"] == 1
    assert len(tickets(container, tenant.id)) == 1


def test_counts_of_a_mixed_run(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    post(client, ninja, trigger(1, "s1"))
    post(client, ninja, trigger(2, "s2", device=2000))
    api = api_of(ninja)
    api.report(ninja["model"], trigger(1, "s1"))
    api.report(ninja["model"], trigger(3, "s3", device=3000))
    api.report(ninja["model"], trigger(4, "s4", device=4000))
    run = sync(client, ninja, tenant.operator)
    assert counts(run) == {
        "created": 2,
        "resolved": 1,
        "reevaluated": 0,
        "unchanged": 1,
        "errors": 0,
    }
    assert len(tickets(container, tenant.id)) == 4
    assert api.closed == api.fetches == 1


def test_an_alert_that_fails_on_its_own_is_counted_and_the_others_go_on(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    api = api_of(ninja)
    api.report(ninja["model"], trigger(1, "s1"))
    broken = api.report(ninja["model"], trigger(2, "s2", device=2000))
    api.report(ninja["model"], trigger(3, "s3", device=3000))
    # A body the store cannot write (not JSON): this alert fails, its batch is retried
    # alert by alert.
    api.active[broken.external_alert_id] = dataclasses.replace(broken, raw={"ids": {1, 2}})
    run = sync(client, ninja, tenant.operator)
    assert run["status"] == "succeeded"
    assert counts(run) == {
        "created": 2,
        "resolved": 0,
        "reevaluated": 0,
        "unchanged": 0,
        "errors": 1,
    }
    assert len(tickets(container, tenant.id)) == 2


def test_a_provider_failure_is_recorded_on_the_run_not_raised(
    client: TestClient, tenant: TenantFixture, ninja: dict[str, Any]
) -> None:
    api_of(ninja).failure = ProviderApiError(
        "HTTP 500 from /v2/alerts after 4 tries", status_code=500
    )
    run = sync(client, ninja, tenant.operator)
    assert run["status"] == "failed"
    assert run["error"] == "provider: HTTP 500 from /v2/alerts after 4 tries"
    assert run["finished_at"] is not None
    api_of(ninja).failure = None
    assert sync(client, ninja, tenant.operator)["status"] == "succeeded"  # not left running
    listed = client.get(
        f"/api/v1/integrations/{ninja['id']}/sync-runs", headers=tenant.readonly.headers
    ).json()["items"]
    assert [r["status"] for r in listed] == ["succeeded", "failed"]


def test_a_slow_run_answers_202_goes_on_and_a_second_sync_meanwhile_is_409(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    container.sync.answer_within_seconds = 0.05
    api = api_of(ninja)
    api.report(ninja["model"], trigger(1, "s1"))
    api.hold = True
    path = f"/api/v1/integrations/{ninja['id']}/sync"
    started = client.post(path, headers=tenant.operator.headers)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.json()["status"] == "running"

    refused = client.post(path, headers=tenant.admin.headers)
    assert refused.status_code == 409
    assert run_id in refused.json()["error"]["message"]

    api.release.set()
    one = f"/api/v1/integrations/{ninja['id']}/sync-runs/{run_id}"
    for _ in range(500):
        shown = client.get(one, headers=tenant.readonly.headers).json()
        if shown["status"] != "running":
            break
        api.release.wait(0.01)
    assert shown["status"] == "succeeded" and shown["created"] == 1
    assert len(tickets(container, tenant.id)) == 1


def test_who_may_sync_and_another_tenants_integration_is_404(
    client: TestClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    container: Container,
    ninja: dict[str, Any],
) -> None:
    path = f"/api/v1/integrations/{ninja['id']}"
    assert client.post(f"{path}/sync", headers=tenant.readonly.headers).status_code == 403
    for method, where in (("POST", "/sync"), ("GET", "/sync-runs")):
        answer = client.request(method, f"{path}{where}", headers=other_tenant.admin.headers)
        assert answer.status_code == 404, where
    run_id = sync(client, ninja, tenant.admin)["id"]
    theirs = client.get(f"{path}/sync-runs/{run_id}", headers=other_tenant.admin.headers)
    assert theirs.status_code == 404
    generic = make_integration(client, tenant, "generic")
    refused = client.post(
        f"/api/v1/integrations/{generic['id']}/sync", headers=tenant.admin.headers
    )
    assert refused.status_code == 409
    assert "webhook only" in refused.json()["error"]["message"]


def test_sync_runs_are_listed_newest_first_in_pages(
    client: TestClient, tenant: TenantFixture, ninja: dict[str, Any]
) -> None:
    made = [sync(client, ninja, tenant.operator)["id"] for _ in range(3)]
    path = f"/api/v1/integrations/{ninja['id']}/sync-runs"
    first = client.get(path, params={"limit": 2}, headers=tenant.readonly.headers).json()
    rest = client.get(
        path, params={"limit": 2, "cursor": first["next"]}, headers=tenant.readonly.headers
    ).json()
    assert [r["id"] for r in first["items"] + rest["items"]] == made[::-1]
    assert rest["next"] is None


def test_the_scheduler_polls_due_integrations_with_polling_on(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    assert run_coroutine(container.sync.poll_due()) == {"ran": 0, "skipped": 0}  # off
    on = client.patch(
        f"/api/v1/integrations/{ninja['id']}",
        json={"settings": {"poll_enabled": True, "poll_interval_minutes": 5}},
        headers=tenant.admin.headers,
    )
    assert on.status_code == 200, on.text
    api_of(ninja).report(ninja["model"], trigger(1, "s1"))
    assert run_coroutine(container.sync.poll_due()) == {"ran": 1, "skipped": 0}
    assert len(tickets(container, tenant.id)) == 1
    # Polled a moment ago: not due again until its interval has passed.
    assert run_coroutine(container.sync.poll_due()) == {"ran": 0, "skipped": 0}
    listed = client.get(
        f"/api/v1/integrations/{ninja['id']}/sync-runs", headers=tenant.readonly.headers
    ).json()["items"]
    assert [r["trigger"] for r in listed] == ["schedule"]


def test_poll_enabled_is_a_boolean_setting_off_by_default(
    client: TestClient, tenant: TenantFixture
) -> None:
    made = make_integration(client, tenant, "ninjaone")
    assert made["settings"]["poll_enabled"] is False
    refused = client.patch(
        f"/api/v1/integrations/{made['id']}",
        json={"settings": {"poll_enabled": "yes"}},
        headers=tenant.admin.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "settings.poll_enabled"


def test_a_run_of_the_cli_kind_needs_no_tenant(
    container: Container, tenant: TenantFixture, ninja: dict[str, Any]
) -> None:
    api_of(ninja).report(ninja["model"], trigger(1, "s1"))
    run = run_coroutine(container.sync.run(uuid.UUID(ninja["id"]), SyncTrigger.MANUAL))
    assert run.status.value == "succeeded" and run.created == 1


def test_a_run_going_when_the_server_stops_ends_failed_not_running(
    tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    container.sync.answer_within_seconds = 0.05
    api_of(ninja).hold = True
    with TestClient(create_app(container)) as own:
        started = own.post(
            f"/api/v1/integrations/{ninja['id']}/sync", headers=tenant.operator.headers
        )
        assert started.status_code == 202
    with container.pipeline.uow.read() as repos:
        run = repos.sync_runs.get(tenant.id, uuid.UUID(started.json()["id"]))
    assert run is not None
    assert run.status.value == "failed" and run.error == "the server stopped during the run"
    api_of(ninja).hold = False
    assert run_coroutine(container.sync.run(run.integration_id, SyncTrigger.MANUAL)).created == 0


def test_a_disabled_integration_is_not_synced(
    client: TestClient, tenant: TenantFixture, ninja: dict[str, Any]
) -> None:
    path = f"/api/v1/integrations/{ninja['id']}"
    assert client.patch(path, json={"enabled": False}, headers=tenant.admin.headers).is_success
    refused = client.post(f"{path}/sync", headers=tenant.admin.headers)
    assert refused.status_code == 409 and "disabled" in refused.json()["error"]["message"]
    assert api_of(ninja).fetches == 0
