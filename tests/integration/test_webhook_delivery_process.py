"""kill -9 between a change's commit and its webhook delivery, on a real `fleetward serve`.

The server first runs with its scheduler (and so its job runner) off: a trigger
commits its alert, ticket and domain events, and nothing is sent. It is then
killed with SIGKILL, with no shutdown, and started again with the runner on.
The receiver must get the delivery exactly once, under the delivery id the
delivery log shows. (A delivery sent but not recorded as done is sent again
under the same id: test_webhook_subscriptions.py.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.agent_live import LiveServer, wait_for
from tests.support.receiver import Receiver, header, receiver, signature_verifies
from tests.verify.support import initialise

pytestmark = pytest.mark.sqlite_only

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "generic"
LOOPBACK = {"FLEETWARD_OUTBOUND_ALLOW_CIDRS": "127.0.0.0/8"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    data = tmp_path / "server"
    data.mkdir()
    live = LiveServer(data, env={**LOOPBACK, "FLEETWARD_SCHEDULER_ENABLED": "false"})
    initialise(live)
    try:
        yield live
    finally:
        live.stop()


def created(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_delivery_pending_when_the_server_is_killed_arrives_once_after_restart(
    server: LiveServer,
) -> None:
    target: Receiver
    with receiver() as target:
        server.start()
        client = created(server.api("POST", "/api/v1/clients", json={"name": "Contoso"}))
        integration = created(
            server.api(
                "POST",
                "/api/v1/integrations",
                json={
                    "provider": "generic",
                    "name": "g",
                    "settings": {"default_client_id": client["id"]},
                },
            )
        )
        rule = {"name": "everything", "conditions": {}, "actions": {}}
        created(server.api("POST", "/api/v1/alert-rules", json=rule))
        subscription = created(
            server.api(
                "POST",
                "/api/v1/webhook-subscriptions",
                json={"url": target.url + "/hook", "events": ["ticket.created"]},
            )
        )
        body = json.loads((SAMPLES / "trigger.json").read_text())
        answer = httpx.post(
            f"{server.url}/api/v1/webhooks/{integration['id']}",
            json=body,
            headers={"X-Fleetward-Token": integration["webhook_secret"]},
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["result"] == "created", answer.text

        server.kill()  # committed, not sent
        assert target.requests == []
        server.env["FLEETWARD_SCHEDULER_ENABLED"] = "true"
        server.start()

        log = f"/api/v1/webhook-subscriptions/{subscription['id']}/deliveries"

        def delivered() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = server.api("GET", log).json()["items"]
            return items if items and items[0]["status"] == "done" else []

        (done,) = wait_for(delivered, 60, "the delivery after the restart")
        (received,) = target.requests
        assert header(received, "X-Fleetward-Delivery") == done["id"]
        assert header(received, "X-Fleetward-Event") == "ticket.created"
        assert signature_verifies(received, subscription["secret"])
        assert json.loads(received.body)["data"]["ticket"]["number"] == 1

        # Stopping and starting once more sends nothing again.
        server.stop()
        server.start()
        assert server.api("GET", log).json()["items"][0]["attempts"] == 1
        server.stop()
    assert len(target.requests) == 1
