"""Sync runs in storage, on both engines: one running run per integration, even
from two transactions at once; a run whose lease passed is taken over."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from fleetward.adapters.storage.sync_repositories import TAKEN_OVER
from fleetward.bootstrap import Container
from fleetward.domain.sync import SyncRun, SyncStatus, SyncTrigger
from tests.conftest import TenantFixture
from tests.support.pipeline import make_integration, post, sample

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COUNTS = {"created": 3, "resolved": 1, "reevaluated": 0, "unchanged": 7, "errors": 0}


def new_run(tenant: TenantFixture, integration_id: uuid.UUID, at: datetime = NOW) -> SyncRun:
    return SyncRun(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        integration_id=integration_id,
        trigger=SyncTrigger.MANUAL,
        status=SyncStatus.RUNNING,
        started_at=at,
        lease_until=at + timedelta(minutes=10),
    )


def integration_id(client: TestClient, tenant: TenantFixture) -> uuid.UUID:
    return uuid.UUID(make_integration(client, tenant, "ninjaone")["id"])


def test_a_second_run_is_refused_while_one_runs_and_allowed_after_it_ends(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    iid = integration_id(client, tenant)
    other = integration_id(client, tenant)
    uow = container.pipeline.uow
    first = new_run(tenant, iid)
    with uow.write() as repos:
        assert repos.sync_runs.start(first, NOW) == first
    with uow.write() as repos:
        assert repos.sync_runs.start(new_run(tenant, iid), NOW) is None
        assert repos.sync_runs.start(new_run(tenant, other), NOW) is not None  # its own
        assert repos.sync_runs.running(iid) == first
    with uow.write() as repos:
        assert repos.sync_runs.finish(first.id, SyncStatus.SUCCEEDED, NOW, COUNTS, None)
    with uow.write() as repos:
        assert repos.sync_runs.start(new_run(tenant, iid), NOW) is not None
    with uow.read() as repos:
        stored = repos.sync_runs.get(tenant.id, first.id)
    assert stored is not None
    assert stored.status is SyncStatus.SUCCEEDED and stored.finished_at == NOW
    assert (stored.created, stored.unchanged, stored.resolved) == (3, 7, 1)


def test_two_transactions_starting_at_once_make_one_run(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    iid = integration_id(client, tenant)
    uow = container.pipeline.uow
    second: list[SyncRun | None] = []
    entered = threading.Event()

    def start_beside() -> None:
        entered.set()
        with uow.write() as repos:
            second.append(repos.sync_runs.start(new_run(tenant, iid), NOW))

    with uow.write() as repos:
        assert repos.sync_runs.start(new_run(tenant, iid), NOW) is not None
        beside = threading.Thread(target=start_beside)
        beside.start()
        entered.wait(5)
        beside.join(0.3)  # it waits for this transaction (lock or unique index)
    beside.join(30)
    assert second == [None]
    with uow.read() as repos:
        assert repos.sync_runs.count(tenant.id, integration_id=iid) == 1


def test_a_run_whose_lease_passed_is_failed_and_taken_over(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    iid = integration_id(client, tenant)
    uow = container.pipeline.uow
    died = new_run(tenant, iid)
    with uow.write() as repos:
        repos.sync_runs.start(died, NOW)
    before_lease = NOW + timedelta(minutes=9)
    with uow.write() as repos:
        assert repos.sync_runs.start(new_run(tenant, iid, before_lease), before_lease) is None
    later = NOW + timedelta(minutes=11)
    taker = new_run(tenant, iid, later)
    with uow.write() as repos:
        assert repos.sync_runs.start(taker, later) == taker
    with uow.write() as repos:
        # The first process, were it alive after all, cannot overwrite the verdict.
        assert not repos.sync_runs.finish(died.id, SyncStatus.SUCCEEDED, later, COUNTS, None)
        old = repos.sync_runs.get(tenant.id, died.id)
        assert repos.sync_runs.running(iid) == taker
    assert old is not None
    assert old.status is SyncStatus.FAILED and old.error == TAKEN_OVER


def test_a_lease_kept_ahead_is_not_taken_over(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    iid = integration_id(client, tenant)
    uow = container.pipeline.uow
    working = new_run(tenant, iid)
    with uow.write() as repos:
        repos.sync_runs.start(working, NOW)
        repos.sync_runs.extend(working.id, NOW + timedelta(minutes=30))
    later = NOW + timedelta(minutes=11)
    with uow.write() as repos:
        assert repos.sync_runs.start(new_run(tenant, iid, later), later) is None


def test_runs_page_newest_first_and_the_scheduler_sees_last_starts(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture, container: Container
) -> None:
    iid = integration_id(client, tenant)
    uow = container.pipeline.uow
    made = []
    for minutes in (0, 20, 40):
        at = NOW + timedelta(minutes=minutes)
        run = new_run(tenant, iid, at)
        with uow.write() as repos:
            repos.sync_runs.start(run, at)
            repos.sync_runs.finish(run.id, SyncStatus.SUCCEEDED, at, COUNTS, None)
        made.append(run.id)
    with uow.read() as repos:
        first = repos.sync_runs.page(tenant.id, 2, None, integration_id=iid)
        assert first.next is not None
        rest = repos.sync_runs.page(tenant.id, 2, first.next, integration_id=iid)
        assert repos.sync_runs.page(other_tenant.id, 10, None).items == []
        assert repos.sync_runs.last_started()[iid] == NOW + timedelta(minutes=40)
        assert iid in {i.id for i in repos.sync_runs.pollable()}
    assert [r.id for r in [*first.items, *rest.items]] == made[::-1]
    assert rest.next is None


def test_held_alerts_carry_the_occurrence_a_poll_is_matched_by(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    integration = make_integration(client, tenant, "ninjaone")
    answer = post(client, integration, sample("ninjaone", "condition_triggered"))
    assert answer.status_code == 200, answer.text
    shown = client.get(
        f"/api/v1/alerts/{answer.json()['alert_id']}", headers=tenant.readonly.headers
    ).json()
    with container.pipeline.uow.read() as repos:
        [held] = repos.sync_runs.held_alerts(uuid.UUID(integration["id"]))
    assert (held.external_alert_id, held.series_key) == (
        "918273",
        "3f1c9e2a-7b4d-4e8f-9a61-2c5d8e0b7f13",
    )
    assert held.occurrence == (
        "1042",
        shown["condition_identity"],
        datetime.fromtimestamp(1714555812.25, UTC),
    )
