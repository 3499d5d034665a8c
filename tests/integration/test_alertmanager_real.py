"""A real Prometheus Alertmanager delivering to a real Fleetward over HTTP.

Debian's prometheus-alertmanager is pointed at Fleetward's webhook (served by
uvicorn) with a Bearer secret, and fed alerts the way Prometheus feeds it. The
intervals are cut to seconds so that within one test Alertmanager shows its
real habits: one notification per group, the whole group re-sent while it
keeps firing, a resolved alert delivered next to still-firing ones, and the
resolved alert sent again when Prometheus keeps reporting it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.alerts import Alert, AlertFilter, AlertStatus, Severity
from fleetward.domain.rules import RuleActions
from fleetward.domain.tickets import Ticket
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, TenantFixture, make_tenant
from tests.support.alertmanager import (
    Alertmanager,
    Delivery,
    DeliveryRecorder,
    find_alertmanager,
    prometheus_alert,
    running_alertmanager,
    webhook_config,
)
from tests.support.components import missing
from tests.support.live_server import bind_local, serve, url_of
from tests.support.pipeline import add_rule, comments, tickets

T = TypeVar("T")

# Bounds every wait of the test together; a healthy run needs under 10 s.
OVERALL_DEADLINE_S = 60.0
POLL_S = 0.05
# How often the fake Prometheus re-posts its alerts. Real Prometheus re-sends
# on evaluation at most every resend_delay (1 min by default); more often here,
# which only makes the deduplication work harder.
PROMETHEUS_RESEND_S = 1.0

WEB01 = "web01:9100"
WEB02 = "web02:9100"


@dataclass
class Fleetward:
    url: str
    container: Container
    tenant: TenantFixture
    client_id: uuid.UUID
    integration: dict[str, Any]
    recorder: DeliveryRecorder

    def alerts(self) -> list[Alert]:
        where = AlertFilter(integration_id=uuid.UUID(self.integration["id"]))
        with self.container.pipeline.uow.read() as repos:
            return repos.alerts.search(self.tenant.id, where, 500, None).items

    def tickets(self) -> list[Ticket]:
        return tickets(self.container, self.tenant.id)


@dataclass
class FakePrometheus:
    """Posts its alerts to Alertmanager over and over, as Prometheus' notifier does.

    A firing alert keeps its startsAt and gets a fresh "valid until" endsAt each
    time; a resolved one keeps being sent with the time it resolved.
    """

    alertmanager: Alertmanager
    started_at: datetime
    resolved_at: dict[str, datetime] = field(default_factory=dict)
    last_post: float = float("-inf")

    def alert(self, instance: str) -> dict[str, Any]:
        resolved = self.resolved_at.get(instance)
        return prometheus_alert(
            labels={
                "alertname": "NodeFilesystemAlmostFull",
                "instance": instance,
                "job": "node",
                "severity": "critical",
            },
            annotations={
                "summary": f"Disk almost full on {instance}",
                "description": f"/var on {instance} has less than 5% space left.",
            },
            starts_at=self.started_at,
            ends_at=resolved or datetime.now(UTC) + timedelta(minutes=4),
        )

    def evaluate(self) -> None:
        self.alertmanager.post_alerts([self.alert(WEB01), self.alert(WEB02)])
        self.last_post = time.monotonic()

    def tick(self) -> None:
        if time.monotonic() - self.last_post >= PROMETHEUS_RESEND_S:
            self.evaluate()

    def resolve(self, instance: str) -> None:
        self.resolved_at[instance] = datetime.now(UTC)
        self.evaluate()


@pytest.fixture
def alertmanager_binary() -> str:
    binary = find_alertmanager()
    if binary is None:
        missing(
            "Prometheus Alertmanager",
            "install Debian's prometheus-alertmanager package "
            "(scripts/install-test-services.sh does, as root), "
            "or name a binary in FLEETWARD_TEST_ALERTMANAGER",
        )
    assert binary is not None
    return binary


@pytest.fixture
def fleetward(tmp_path: Path) -> Iterator[Fleetward]:
    # The port is bound first so the app hands out webhook URLs that reach it.
    sock = bind_local()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'f.db'}",
        data_dir=tmp_path,
        base_url=url_of(sock),
    )
    container = build(settings, migrate_schema=True, passwords=FAST_PASSWORDS)
    try:
        tenant = make_tenant(container, "Acme MSP")
        add_rule(container, tenant.id, actions=RuleActions(auto_resolve_ticket=True))
        recorder = DeliveryRecorder(create_app(container))
        with (
            serve(recorder, sock) as url,
            httpx.Client(base_url=url, headers=tenant.admin.headers, timeout=10) as api,
        ):
            made = api.post("/api/v1/clients", json={"name": "Contoso"})
            assert made.status_code == 201, made.text
            client_id = uuid.UUID(made.json()["id"])
            made = api.post(
                "/api/v1/integrations",
                json={
                    "provider": "alertmanager",
                    "name": "Prometheus",
                    "settings": {"default_client_id": str(client_id)},
                },
            )
            assert made.status_code == 201, made.text
            integration: dict[str, Any] = made.json()
            assert integration["webhook_url"].startswith(url)
            yield Fleetward(url, container, tenant, client_id, integration, recorder)
    finally:
        sock.close()  # serve() closes it too; this covers a failure before serving
        container.close()


def test_real_alertmanager_firing_resends_and_resolve(
    alertmanager_binary: str, fleetward: Fleetward, tmp_path: Path
) -> None:
    deadline = time.monotonic() + OVERALL_DEADLINE_S
    secret = fleetward.integration["webhook_secret"]
    config = webhook_config(
        fleetward.integration["webhook_url"],
        secret,
        group_by=["alertname"],
        group_wait="1s",
        group_interval="1s",
        # Short, so a still-firing group is re-sent within seconds.
        repeat_interval="2s",
    )
    with running_alertmanager(alertmanager_binary, tmp_path / "alertmanager", config) as am:
        # Prometheus sends the time the alert started firing, so Alertmanager
        # holds the new group for group_wait before the first notification.
        prometheus = FakePrometheus(am, started_at=datetime.now(UTC))

        def wait_for(what: str, check: Callable[[], T | None]) -> T:
            """Poll `check` until it returns a value, Prometheus re-posting meanwhile."""
            while True:
                prometheus.tick()
                if (found := check()) is not None:
                    return found
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"timed out waiting for {what}; deliveries so far:\n"
                        + "\n".join(_describe(d) for d in fleetward.recorder.deliveries())
                    )
                time.sleep(POLL_S)

        # 1. Two instances start firing: one notification for the group, each
        # alert its own ticket. (The recorder logs a delivery once it has been
        # answered, so after the database commit: wait for both.)
        prometheus.evaluate()
        first = wait_for("the first notification", lambda: _after(fleetward, 0))
        opened = fleetward.alerts(), fleetward.tickets()
        alerts_by_device = {a.device_external_id: a for a in opened[0]}
        assert set(alerts_by_device) == {WEB01, WEB02}
        for device, alert in alerts_by_device.items():
            assert alert.status is AlertStatus.ACTIVE
            assert alert.severity is Severity.CRITICAL
            assert alert.condition_identity == "NodeFilesystemAlmostFull"
            assert alert.title == f"Disk almost full on {device}"
            assert alert.client_id == fleetward.client_id
            assert alert.ticket_id is not None
        ticket_ids = {alerts_by_device[d].ticket_id for d in (WEB01, WEB02)}
        assert ticket_ids == {t.id for t in opened[1]}

        assert first.status == 200, _describe(first)
        assert first.headers["authorization"] == f"Bearer {secret}"
        assert first.request["version"] == "4"
        assert first.by_instance() == {WEB01: ("firing", "created"), WEB02: ("firing", "created")}

        # 2. Still firing: Alertmanager re-sends the whole group on its repeat
        # interval, Prometheus keeps re-posting. Nothing new may come of it.
        seen = len(fleetward.recorder.deliveries())
        resend = wait_for("a re-send of the firing group", lambda: _after(fleetward, seen))
        assert resend.status == 200, _describe(resend)
        assert resend.by_instance() == {
            WEB01: ("firing", "duplicate"),
            WEB02: ("firing", "duplicate"),
        }
        _assert_unchanged(fleetward, alerts_by_device, open_devices={WEB01, WEB02})

        # 3. web02 recovers. Alertmanager delivers it resolved next to the
        # still-firing web01 in one request; its untouched ticket closes.
        seen = len(fleetward.recorder.deliveries())
        prometheus.resolve(WEB02)
        web02 = alerts_by_device[WEB02]
        web02_ticket = web02.ticket_id
        assert web02_ticket is not None
        resolve = wait_for(
            "a notification resolving web02",
            lambda: next(
                (d for d in fleetward.recorder.deliveries()[seen:] if _result(d) == "resolved"),
                None,
            ),
        )
        assert _alert(fleetward, web02.id).status is AlertStatus.AUTO_RESOLVED
        assert _ticket(fleetward, web02_ticket).is_closed
        assert resolve.request["status"] == "firing"  # the group's status: not per alert
        assert resolve.by_instance() == {
            WEB01: ("firing", "duplicate"),
            WEB02: ("resolved", "resolved"),
        }
        closing = [c.body for c in comments(fleetward.container, fleetward.tenant.id, web02_ticket)]
        assert any(body.startswith("Alert reset at alertmanager") for body in closing), closing
        assert any(body.startswith("Closed automatically") for body in closing), closing
        _assert_unchanged(fleetward, alerts_by_device, open_devices={WEB01})

        # 4. Prometheus goes on reporting web02 as resolved and web01 as firing;
        # Alertmanager's next repeat must neither reopen nor add anything.
        seen = fleetward.recorder.deliveries().index(resolve) + 1
        repeat = wait_for("a notification after the resolve", lambda: _after(fleetward, seen))
        assert repeat.status == 200, _describe(repeat)
        got = repeat.by_instance()
        assert got[WEB01] == ("firing", "duplicate")
        # Whether web02 comes again depends on whether Prometheus' re-post
        # reached the group before Alertmanager dropped it; if it does, the
        # repeated resolve is a no-op.
        assert got.get(WEB02, ("resolved", "duplicate")) == ("resolved", "duplicate")
        _assert_unchanged(fleetward, alerts_by_device, open_devices={WEB01})

    deliveries = fleetward.recorder.deliveries()
    assert all(d.status == 200 for d in deliveries)
    # Fleetward's own request counter agrees with what the recorder saw.
    assert _webhook_requests(fleetward) == len(deliveries)


def _webhook_requests(fleetward: Fleetward) -> float:
    text = httpx.get(f"{fleetward.url}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "fleetward_http_requests_total"
        and sample.labels["route"] == "/api/v1/webhooks/{integration_id}"
    )


def _result(delivery: Delivery) -> str | None:
    """Fleetward's summary result for the request (None for an error answer)."""
    answer = delivery.answer
    return answer.get("result") if isinstance(answer, dict) else None


def _after(fleetward: Fleetward, seen: int) -> Delivery | None:
    later = fleetward.recorder.deliveries()[seen:]
    return later[0] if later else None


def _alert(fleetward: Fleetward, alert_id: uuid.UUID) -> Alert:
    with fleetward.container.pipeline.uow.read() as repos:
        found: Alert = repos.alerts.get(fleetward.tenant.id, alert_id)
    return found


def _ticket(fleetward: Fleetward, ticket_id: uuid.UUID) -> Ticket:
    with fleetward.container.pipeline.uow.read() as repos:
        found: Ticket = repos.tickets.get(fleetward.tenant.id, ticket_id)
    return found


def _assert_unchanged(
    fleetward: Fleetward, original: dict[str, Alert], open_devices: set[str]
) -> None:
    """The same two alerts and tickets, none re-triggered; only open_devices still open."""
    alerts = {a.device_external_id: a for a in fleetward.alerts()}
    assert {d: a.id for d, a in alerts.items()} == {d: a.id for d, a in original.items()}
    tickets_now = {t.id: t for t in fleetward.tickets()}
    assert set(tickets_now) == {a.ticket_id for a in original.values()}
    for device, alert in alerts.items():
        assert alert.ticket_id is not None
        ticket = tickets_now[alert.ticket_id]
        assert ticket.occurrence_count == 1, (device, ticket)
        if device in open_devices:
            assert alert.status is AlertStatus.ACTIVE, (device, alert.status)
            assert not ticket.is_closed, (device, ticket)
        else:
            assert alert.status is AlertStatus.AUTO_RESOLVED, (device, alert.status)
            assert ticket.is_closed, (device, ticket)


def _describe(delivery: Delivery) -> str:
    request = delivery.request
    if isinstance(request, dict) and isinstance(request.get("alerts"), list):
        sent = [(a["labels"].get("instance"), a["status"]) for a in request["alerts"]]
    else:
        sent = [request]
    return f"  {delivery.status} sent={sent} answer={delivery.answer}"
