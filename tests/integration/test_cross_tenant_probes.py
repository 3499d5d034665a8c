"""Requests for another tenant's ids: recorded for the owner and the operators, after the answer.

The request answers 404 and only queues the attempt; the queue's thread writes
it into the owning tenant's audit log, a security log line and a counter. The
isolation matrix (tests/support/matrix.py) checks every route for the rest:
the prober's answer and own log are the same as for a random id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, TenantFixture, make_tenant
from tests.support.api import CROSS_TENANT, audit_entries, prober_view

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def metric(client: TestClient, sample: str) -> float:
    """The value of one sample line of /metrics, 0 when absent."""
    for line in client.get("/metrics").text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return 0.0


def own_client(client: TestClient, tenant: TenantFixture) -> str:
    made = client.post("/api/v1/clients", json={"name": "Theirs"}, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


@pytest.fixture
def unstarted(container: Container) -> Iterator[TestClient]:
    """The app without its lifespan: the queue's thread never runs, so nothing is
    recorded until the test drains the queue itself."""
    yield TestClient(create_app(container))


def test_the_answer_comes_before_the_record_which_goes_to_the_owner(
    unstarted: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    client_id = own_client(unstarted, tenant)
    prober = other_tenant.readonly
    probers_log = audit_entries(unstarted, other_tenant.admin.headers)

    answer = unstarted.get(f"/api/v1/clients/{client_id}", headers=prober.headers)
    random = unstarted.get(f"/api/v1/clients/{uuid.uuid4()}", headers=prober.headers)

    # Answered, the same for both, and nothing recorded yet: the request did not wait.
    assert answer.status_code == 404
    assert prober_view(answer) == prober_view(random)
    assert audit_entries(unstarted, tenant.admin.headers, action=CROSS_TENANT) == []
    with capture_logs() as logged:
        container.probes.drain()

    (entry,) = audit_entries(unstarted, tenant.admin.headers, action=CROSS_TENANT)
    assert (entry["object_type"], entry["object_id"]) == ("client", client_id)
    assert (entry["actor_type"], entry["actor_label"]) == ("api_key", f"{prober.email} (api key)")
    assert entry["after"]["tenant"] == other_tenant.name
    assert entry["after"]["tenant_id"] == str(other_tenant.id)
    assert audit_entries(unstarted, other_tenant.admin.headers) == probers_log
    # The operators: one security log line and the counter, for the real id only.
    (line,) = [e for e in logged if e["event"] == CROSS_TENANT]
    assert line["log_level"] == "warning"
    assert (line["object_id"], line["owner_tenant_id"]) == (client_id, str(tenant.id))
    assert line["prober_tenant_id"] == str(other_tenant.id)
    sample = 'fleetward_cross_tenant_access_total{object_type="client"}'
    assert metric(unstarted, sample) == 1.0


def test_a_full_queue_drops_and_counts_and_the_answer_does_not_change(
    settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    small = build(
        settings.model_copy(update={"cross_tenant_queue_size": 1}), passwords=FAST_PASSWORDS
    )
    try:
        app = TestClient(create_app(small))  # no lifespan: the queue is never emptied
        owner, prober = make_tenant(small, "Owner"), make_tenant(small, "Prober").admin
        client_id = own_client(app, owner)
        answers = [
            app.get(f"/api/v1/clients/{object_id}", headers=prober.headers)
            for object_id in (client_id, client_id, uuid.uuid4())
        ]
        assert answers[0].status_code == 404
        assert [prober_view(answer) for answer in answers] == [prober_view(answers[0])] * 3
        dropped = 'fleetward_cross_tenant_probes_dropped_total{reason="queue_full"}'
        assert metric(app, dropped) == 2.0
        small.probes.drain()
        logged = audit_entries(app, owner.admin.headers, action=CROSS_TENANT)
        assert [e["object_id"] for e in logged] == [client_id]
    finally:
        small.close()


def test_attempts_still_queued_when_the_server_stops_are_recorded(
    container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    with TestClient(create_app(container)) as client:
        client_id = own_client(client, tenant)
        for _ in range(20):
            client.get(f"/api/v1/clients/{client_id}", headers=other_tenant.admin.headers)
    # The lifespan's end waited for the queue: read with no drain() and no thread.
    after = TestClient(create_app(container))
    assert len(audit_entries(after, tenant.admin.headers, action=CROSS_TENANT)) == 20
