"""Webhook subscriptions: managed over the API, their deliveries signed, retried,
logged and replayed, at a real receiver on 127.0.0.1 (the outbound policy lists
127.0.0.0/8 here, except in the one test that shows a refusal)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from fleetward.adapters.storage import schema
from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.entrypoints.cli import app as cli_app
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, TenantFixture, make_tenant
from tests.support.aio import run_coroutine
from tests.support.api import assert_error, cross_tenant_entries
from tests.support.clocks import ManualClock as Clock
from tests.support.receiver import Receiver, header, receiver, signature_verifies
from tests.support.settings import loopback_settings

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "generic"
PATH = "/api/v1/webhook-subscriptions"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return loopback_settings(database_url, tmp_path)


@pytest.fixture
def target() -> Any:
    with receiver() as found:
        yield found


@pytest.fixture
def sender(client: TestClient, tenant: TenantFixture) -> dict[str, Any]:
    """A generic integration with a default client and a catch-all rule: a trigger
    opens a ticket (ticket.created, alert.triggered)."""
    h = tenant.admin.headers
    client_id = client.post("/api/v1/clients", json={"name": "Contoso"}, headers=h).json()["id"]
    body = {"provider": "generic", "name": "g", "settings": {"default_client_id": client_id}}
    created = client.post("/api/v1/integrations", json=body, headers=h)
    assert created.status_code == 201, created.text
    rule = {"name": "everything", "conditions": {}, "actions": {}}
    assert client.post("/api/v1/alert-rules", json=rule, headers=h).status_code == 201
    found: dict[str, Any] = created.json()
    return found


def trigger(client: TestClient, sender: dict[str, Any], occurrence: str) -> str:
    body: dict[str, Any] = json.loads((SAMPLES / "trigger.json").read_text())
    body["external_alert_id"] = f"cpu-{occurrence}"
    body["series_key"] = f"cpu-series-{occurrence}"
    answer = client.post(
        f"/api/v1/webhooks/{sender['id']}",
        json=body,
        headers={"X-Fleetward-Token": sender["webhook_secret"]},
    )
    assert answer.status_code == 200, answer.text
    alert_id: str = answer.json()["alert_id"]
    return alert_id


def subscribe(
    client: TestClient, tenant: TenantFixture, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    body = {"url": url, "events": events or ["*"], "description": "automation"}
    created = client.post(PATH, json=body, headers=tenant.admin.headers)
    assert created.status_code == 201, created.text
    found: dict[str, Any] = created.json()
    return found


def deliveries(
    client: TestClient, tenant: TenantFixture, subscription: dict[str, Any]
) -> list[dict[str, Any]]:
    answer = client.get(f"{PATH}/{subscription['id']}/deliveries", headers=tenant.admin.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def run_jobs(container: Container) -> int:
    return run_coroutine(container.jobs.run_until_idle())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_admins_manage_subscriptions_and_the_secret_is_shown_once(
    client: TestClient, tenant: TenantFixture
) -> None:
    created = subscribe(client, tenant, "https://hooks.example.com/fleetward", ["ticket.created"])
    assert created["secret"].startswith("fws_") and created["enabled"] is True
    h = tenant.admin.headers
    shown = client.get(f"{PATH}/{created['id']}", headers=h).json()
    assert "secret" not in shown and shown["events"] == ["ticket.created"]
    assert [s["id"] for s in client.get(PATH, headers=h).json()["items"]] == [created["id"]]

    patched = client.patch(f"{PATH}/{created['id']}", json={"enabled": False}, headers=h)
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    rotated = client.post(f"{PATH}/{created['id']}/rotate-secret", headers=h).json()["secret"]
    assert rotated.startswith("fws_") and rotated != created["secret"]

    for actor in (tenant.operator, tenant.readonly):
        assert client.get(PATH, headers=actor.headers).status_code == 403
        body = {"url": "https://x.example.com", "events": ["*"]}
        assert client.post(PATH, json=body, headers=actor.headers).status_code == 403
    assert client.delete(f"{PATH}/{created['id']}", headers=h).status_code == 204
    assert client.get(f"{PATH}/{created['id']}", headers=h).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "ftp://x.example.com", "events": ["*"]}, "url", "http(s)"),
        ({"url": "https://u:p@x.example.com", "events": ["*"]}, "url", "credentials"),
        ({"url": "https://x.example.com", "events": []}, "events", "non-empty"),
        ({"url": "https://x.example.com", "events": ["alert.exploded"]}, "events", "alert."),
        ({"url": "https://x.example.com", "events": ["*", "ticket.created"]}, "events", "alone"),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_field(
    client: TestClient, tenant: TenantFixture, body: dict[str, Any], field: str, words: str
) -> None:
    answer = client.post(PATH, json=body, headers=tenant.admin.headers)
    assert_error(answer, 422, field=field)
    assert words in answer.json()["error"]["message"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_delivery_is_signed_and_carries_its_event_and_delivery_id(
    client: TestClient,
    tenant: TenantFixture,
    container: Container,
    sender: dict[str, Any],
    target: Receiver,
) -> None:
    subscription = subscribe(client, tenant, target.url + "/hook", ["alert.triggered"])
    alert_id = trigger(client, sender, "1")
    run_jobs(container)

    (received,) = target.requests  # ticket.created is not subscribed to
    assert (received.method, received.path) == ("POST", "/hook")
    assert header(received, "Content-Type") == "application/json"
    assert header(received, "X-Fleetward-Event") == "alert.triggered"
    assert signature_verifies(received, subscription["secret"])
    assert not signature_verifies(received, subscription["secret"] + "x")
    event = json.loads(received.body)
    assert event["type"] == "alert.triggered" and event["data"]["alert"]["id"] == alert_id
    assert datetime.fromisoformat(event["occurred_at"]).tzinfo is not None
    (logged,) = deliveries(client, tenant, subscription)
    assert logged["id"] == header(received, "X-Fleetward-Delivery")
    assert (logged["status"], logged["event_type"], logged["attempts"]) == (
        "done",
        "alert.triggered",
        1,
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refused_delivery_is_retried_later_and_a_replay_keeps_its_id(
    client: TestClient,
    tenant: TenantFixture,
    container: Container,
    sender: dict[str, Any],
    target: Receiver,
) -> None:
    subscription = subscribe(client, tenant, target.url, ["ticket.created"])
    target.answer(503, {"Retry-After": "120"})
    trigger(client, sender, "1")
    run_jobs(container)
    (failed,) = deliveries(client, tenant, subscription)
    assert (failed["status"], failed["last_status_code"]) == ("pending", 503)
    assert "503" in failed["last_error"]
    next_at = datetime.fromisoformat(failed["next_attempt_at"])
    assert next_at - datetime.now(UTC) > timedelta(seconds=100)  # Retry-After honoured

    replay = f"{PATH}/{subscription['id']}/deliveries/{failed['id']}/replay"
    assert client.post(replay, headers=tenant.admin.headers).status_code == 200
    run_jobs(container)
    first, second = target.requests
    assert header(first, "X-Fleetward-Delivery") == header(second, "X-Fleetward-Delivery")
    assert first.body == second.body
    (done,) = deliveries(client, tenant, subscription)
    assert (done["id"], done["status"], done["attempts"]) == (failed["id"], "done", 2)

    other = f"{PATH}/{subscription['id']}/deliveries/{uuid.uuid4()}/replay"
    assert client.post(other, headers=tenant.admin.headers).status_code == 404
    assert client.post(replay, headers=tenant.operator.headers).status_code == 403


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_the_allow_list_a_loopback_receiver_is_refused_and_the_log_says_so(
    client: TestClient,
    tenant: TenantFixture,
    settings: Settings,
    sender: dict[str, Any],
    target: Receiver,
) -> None:
    subscription = subscribe(client, tenant, target.url)
    trigger(client, sender, "1")
    strict = build(
        settings.model_copy(update={"outbound_allow_cidrs": ""}), passwords=FAST_PASSWORDS
    )
    try:
        run_jobs(strict)
    finally:
        strict.close()
    assert target.requests == []
    logged = deliveries(client, tenant, subscription)
    assert {d["event_type"] for d in logged} == {"ticket.created", "alert.triggered"}
    for delivery in logged:
        assert delivery["status"] == "failed"
        assert "FLEETWARD_OUTBOUND_ALLOW_CIDRS" in delivery["last_error"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_delivery_sent_but_not_recorded_as_done_is_sent_again_with_its_id(
    client: TestClient,
    tenant: TenantFixture,
    settings: Settings,
    sender: dict[str, Any],
    target: Receiver,
) -> None:
    """The runner's process died after the receiver had the delivery and before
    "done" was written: once its lease runs out the delivery is sent again, under
    the same X-Fleetward-Delivery, so the receiver can tell it is the same one."""
    subscription = subscribe(client, tenant, target.url, ["ticket.created"])
    trigger(client, sender, "1")
    now = datetime.now(UTC)
    clock = Clock(now)
    runner = build(settings, clock=clock, passwords=FAST_PASSWORDS)
    try:
        with runner.pipeline.uow.write() as repos:
            runner.subscriptions.dispatch_in(repos, now)
            (job,) = repos.jobs.claim(now, timedelta(minutes=5), 10)
        run_coroutine(runner.subscriptions.deliver(job))  # sent; then the crash
        assert len(target.requests) == 1
        clock.now = now + timedelta(minutes=6)  # the dead runner's lease ran out
        run_jobs(runner)
    finally:
        runner.close()
    first, again = target.requests
    assert header(first, "X-Fleetward-Delivery") == header(again, "X-Fleetward-Delivery")
    assert header(again, "X-Fleetward-Delivery") == str(job.id)
    assert first.body == again.body
    (logged,) = deliveries(client, tenant, subscription)
    assert (logged["status"], logged["attempts"]) == ("done", 2)


def test_dispatch_enqueues_one_delivery_per_wanting_subscription_once(
    client: TestClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    container: Container,
    sender: dict[str, Any],
) -> None:
    """On both engines: the dispatcher's queries, keys and published marks."""
    everything = subscribe(client, tenant, "https://a.example.com", ["*"])
    tickets_only = subscribe(client, tenant, "https://b.example.com", ["ticket.created"])
    disabled = subscribe(client, tenant, "https://c.example.com", ["*"])
    h = tenant.admin.headers
    client.patch(f"{PATH}/{disabled['id']}", json={"enabled": False}, headers=h)
    elsewhere = subscribe(client, other_tenant, "https://d.example.com", ["*"])
    trigger(client, sender, "1")  # ticket.created, alert.triggered

    assert container.subscriptions.dispatch() == 2
    assert container.subscriptions.dispatch() == 0  # published: nothing again
    j = schema.job
    with container.db.read() as conn:
        rows = conn.execute(select(j.c.ref_id, j.c.key, j.c.kind, j.c.give_up_at, j.c.created_at))
        jobs = rows.all()
    by_subscription: dict[str, int] = {}
    for row in jobs:
        by_subscription[str(row.ref_id)] = by_subscription.get(str(row.ref_id), 0) + 1
        assert row.kind == "webhook.deliver"
        assert row.give_up_at - row.created_at == timedelta(hours=24)
    assert by_subscription == {everything["id"]: 2, tickets_only["id"]: 1}
    assert elsewhere["id"] not in by_subscription and disabled["id"] not in by_subscription
    assert len({row.key for row in jobs}) == 3

    # A second dispatch of the same events (another node's, say) adds no delivery.
    e = schema.domain_event
    with container.db.write() as conn:
        conn.execute(e.update().values(published_at=None))
    assert container.subscriptions.dispatch() == 2
    with container.db.read() as conn:
        assert len(conn.execute(select(j.c.id)).all()) == 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_another_tenants_delivery_is_not_replayed_through_your_own_subscription(
    client: TestClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    container: Container,
    sender: dict[str, Any],
) -> None:
    owners = subscribe(client, tenant, "https://a.example.com", ["ticket.created"])
    trigger(client, sender, "1")
    container.subscriptions.dispatch()
    (delivery,) = deliveries(client, tenant, owners)
    own = subscribe(client, other_tenant, "https://b.example.com")
    replay = f"{PATH}/{own['id']}/deliveries/{delivery['id']}/replay"
    assert_error(client.post(replay, headers=other_tenant.admin.headers), 404)
    (attempt,) = cross_tenant_entries(client, tenant.admin.headers)
    assert attempt["object_id"] == delivery["id"]
    assert deliveries(client, tenant, owners) == [delivery]


def test_secrets_reseal_keeps_a_subscriptions_signing_secret(
    database_url: str, tmp_path: Path, target: Receiver
) -> None:
    """After `fleetward secrets reseal` and the old key dropped, deliveries are
    still signed with the secret the receiver was given."""
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    def container_with(keys: str) -> Container:
        return build(
            Settings(
                database_url=database_url,
                data_dir=tmp_path,
                secret_key=keys,
                outbound_allow_cidrs="127.0.0.0/8",
            ),
            passwords=FAST_PASSWORDS,
        )

    first = container_with(old_key)
    try:
        tenant = make_tenant(first, "Acme MSP")
        with TestClient(create_app(first)) as client:
            subscription = subscribe(client, tenant, target.url)
    finally:
        first.close()
    result = CliRunner().invoke(
        cli_app,
        ["--data-dir", str(tmp_path), "--database-url", database_url, "secrets", "reseal"],
        env={"FLEETWARD_SECRET_KEY": f"{new_key},{old_key}"},
    )
    assert result.exit_code == 0, result.output
    assert "resealed 1 secrets" in result.output

    later = container_with(new_key)
    try:
        with later.pipeline.uow.write() as repos:
            repos.events.add(tenant.id, "ticket.created", {"ticket": {}}, datetime.now(UTC))
        run_jobs(later)
    finally:
        later.close()
    (received,) = target.requests
    assert signature_verifies(received, subscription["secret"])
