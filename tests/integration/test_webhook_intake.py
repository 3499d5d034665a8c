"""The webhook's front door: authentication, bad bodies, dead letters, each provider."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.entrypoints.http.app import create_app
from tests.conftest import TenantFixture
from tests.support.pipeline import (
    add_rule,
    make_client,
    make_integration,
    map_org,
    post,
    sample,
    tickets,
)


@pytest.fixture
def generic(client: TestClient, tenant: TenantFixture, container: Container) -> dict[str, Any]:
    client_id = make_client(client, tenant)
    add_rule(container, tenant.id)
    return make_integration(client, tenant, "generic", {"default_client_id": client_id})


def path(integration: dict[str, Any]) -> str:
    return urlsplit(integration["webhook_url"]).path


def test_every_way_to_authenticate(client: TestClient, generic: dict[str, Any]) -> None:
    body = orjson.dumps(sample("generic", "trigger"))
    secret = generic["webhook_secret"]
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    for headers in (
        {"X-Fleetward-Token": secret},
        {"Authorization": f"Bearer {secret}"},
        {"X-Fleetward-Signature": signature},
    ):
        answer = client.post(path(generic), content=body, headers=headers)
        assert answer.status_code == 200, (headers, answer.text)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Fleetward-Token": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"X-Fleetward-Signature": "sha256=" + "0" * 64},
        {"X-Fleetward-Signature": "garbage"},
    ],
)
def test_bad_credentials_are_401_and_store_nothing(
    client: TestClient,
    tenant: TenantFixture,
    container: Container,
    generic: dict[str, Any],
    headers: dict[str, str],
) -> None:
    answer = client.post(path(generic), json=sample("generic", "trigger"), headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"
    assert tickets(container, tenant.id) == []


def test_unknown_integration_answers_like_a_bad_secret(
    client: TestClient, generic: dict[str, Any]
) -> None:
    for url in (
        "/api/v1/webhooks/6f0b2d4e-8a1c-4e3f-9b5d-7c2a1e0f3b4d",
        "/api/v1/webhooks/not-a-uuid",
    ):
        answer = client.post(url, json={}, headers={"X-Fleetward-Token": generic["webhook_secret"]})
        assert answer.status_code == 401


def test_truncated_json_is_400_kept_as_dead_letter_and_replayable(
    client: TestClient, tenant: TenantFixture, container: Container, generic: dict[str, Any]
) -> None:
    whole = orjson.dumps(sample("generic", "trigger"))
    answer = client.post(
        path(generic), content=whole[:-10], headers={"X-Fleetward-Token": generic["webhook_secret"]}
    )
    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["error"]["message"]

    letters = client.get(
        f"/api/v1/integrations/{generic['id']}/dead-letters", headers=tenant.operator.headers
    )
    (letter,) = letters.json()["items"]
    assert letter["body"] == whole[:-10].decode()
    replay = client.post(
        f"/api/v1/integrations/{generic['id']}/dead-letters/{letter['id']}/replay",
        headers=tenant.operator.headers,
    )
    assert replay.status_code == 200
    assert replay.json()["result"] == "failed"  # still truncated: said so, not a 500
    assert tickets(container, tenant.id) == []


def test_wrong_types_name_the_field_and_a_fixed_body_can_be_replayed(
    client: TestClient, tenant: TenantFixture, container: Container, generic: dict[str, Any]
) -> None:
    body = sample("generic", "trigger")
    body["severity"] = 5
    answer = post(client, generic, body)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "severity"

    for bad in ([], "text", 12, None, {"kind": "triggered"}):
        assert post(client, generic, bad).status_code == 400
    assert tickets(container, tenant.id) == []

    # The sender fixes the field and sends the same alert again: it lands, once.
    body["severity"] = "critical"
    first = post(client, generic, body)
    assert first.status_code == 200, first.text
    assert first.json()["result"] == "created"
    again = post(client, generic, body)
    assert again.json()["result"] == "duplicate"
    assert len(tickets(container, tenant.id)) == 1


def test_oversized_body_is_413(client: TestClient, generic: dict[str, Any]) -> None:
    big = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    answer = client.post(
        path(generic), content=big, headers={"X-Fleetward-Token": generic["webhook_secret"]}
    )
    assert answer.status_code == 413


def test_disabled_integration_refuses_with_a_message(
    client: TestClient, tenant: TenantFixture, generic: dict[str, Any]
) -> None:
    client.patch(
        f"/api/v1/integrations/{generic['id']}",
        json={"enabled": False},
        headers=tenant.admin.headers,
    )
    answer = post(client, generic, sample("generic", "trigger"))
    assert answer.status_code == 403
    assert "disabled" in answer.json()["error"]["message"]


def test_rotated_secret_replaces_the_old_one(
    client: TestClient, tenant: TenantFixture, generic: dict[str, Any]
) -> None:
    rotated = client.post(
        f"/api/v1/integrations/{generic['id']}/rotate-secret", headers=tenant.admin.headers
    )
    assert rotated.status_code == 200
    assert post(client, generic, sample("generic", "trigger")).status_code == 401
    fresh = {**generic, "webhook_secret": rotated.json()["webhook_secret"]}
    assert post(client, fresh, sample("generic", "trigger")).status_code == 200


def test_generic_trigger_and_reset(
    client: TestClient, tenant: TenantFixture, container: Container, generic: dict[str, Any]
) -> None:
    assert post(client, generic, sample("generic", "trigger")).json()["result"] == "created"
    assert post(client, generic, sample("generic", "reset")).json()["result"] == "resolved"


def test_tactical_trigger_and_resolve(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    client_id = make_client(client, tenant)
    add_rule(container, tenant.id)
    tactical = make_integration(client, tenant, "tacticalrmm")
    map_org(client, tenant, tactical, "Contoso Ltd", client_id)
    created = post(client, tactical, sample("tacticalrmm", "alert_trigger")).json()
    assert created["result"] == "created"
    assert (
        post(client, tactical, sample("tacticalrmm", "alert_trigger")).json()["result"]
        == "duplicate"
    )
    assert (
        post(client, tactical, sample("tacticalrmm", "alert_resolved")).json()["result"]
        == "resolved"
    )
    (only,) = tickets(container, tenant.id)
    assert only.title.startswith("FS01")


def test_alertmanager_group_resend_is_per_alert(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    client_id = make_client(client, tenant)
    add_rule(container, tenant.id)
    manager = make_integration(client, tenant, "alertmanager")
    map_org(client, tenant, manager, "contoso", client_id)
    first = post(client, manager, sample("alertmanager", "group_two_firing")).json()
    assert [r["result"] for r in first["results"]] == ["created", "created"]
    # Next notification of the group: web01 still firing (a re-send), web02 resolved.
    second = post(client, manager, sample("alertmanager", "group_firing_and_resolved")).json()
    assert [r["result"] for r in second["results"]] == ["duplicate", "resolved"]
    assert second["result"] == "resolved"
    assert len(tickets(container, tenant.id)) == 2


def test_alert_list_refuses_a_forged_cursor(client: TestClient, tenant: TenantFixture) -> None:
    from fleetward.domain.pagination import encode_cursor

    naive = encode_cursor("2026-01-01T00:00:00", "6f0b2d4e-8a1c-4e3f-9b5d-7c2a1e0f3b4d")
    answer = client.get("/api/v1/alerts", params={"cursor": naive}, headers=tenant.readonly.headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "cursor"


def test_storage_failure_is_503_nothing_is_kept_and_a_retry_lands(
    client: TestClient, tenant: TenantFixture, container: Container, generic: dict[str, Any]
) -> None:
    """A real failure (a table gone) mid-transaction: the sender is told to retry."""
    with container.pipeline.uow.write() as repos:
        repos.events.conn.exec_driver_sql("ALTER TABLE domain_event RENAME TO domain_event_away")
    answer = post(client, generic, sample("generic", "trigger"))
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "storage_unavailable"
    assert tickets(container, tenant.id) == []  # the whole transaction rolled back

    with container.pipeline.uow.write() as repos:
        repos.events.conn.exec_driver_sql("ALTER TABLE domain_event_away RENAME TO domain_event")
    assert post(client, generic, sample("generic", "trigger")).json()["result"] == "created"
    assert len(tickets(container, tenant.id)) == 1


@pytest.mark.parametrize(
    ("method", "suffix", "status"),
    [("GET", "", 405), ("PUT", "", 405), ("POST", "/extra", 404)],
)
def test_other_shapes_of_the_webhook_path_are_the_apps_to_answer(
    client: TestClient, generic: dict[str, Any], method: str, suffix: str, status: int
) -> None:
    """Only POST /api/v1/webhooks/{id} takes the intake's short way; the rest
    are answered by the app as any unknown route or method is."""
    answer = client.request(
        method,
        path(generic) + suffix,
        json=sample("generic", "trigger"),
        headers={"X-Fleetward-Token": generic["webhook_secret"]},
    )
    assert answer.status_code == status
    assert "error" in answer.json()


def test_behind_a_root_path_the_apps_own_route_answers_alike(
    container: Container, tenant: TenantFixture, generic: dict[str, Any]
) -> None:
    """Under a root path the intake's short way does not apply: FastAPI's route
    (the same answer()) takes the delivery."""
    headers = {"X-Fleetward-Token": generic["webhook_secret"]}
    with TestClient(create_app(container), root_path="/fleetward") as proxied:
        url = "/fleetward" + path(generic)
        first = proxied.post(url, json=sample("generic", "trigger"), headers=headers)
        again = proxied.post(url, json=sample("generic", "trigger"), headers=headers)
        wrong = proxied.post(url, json=sample("generic", "trigger"), headers={})
    assert first.status_code == 200 and first.json()["result"] == "created"
    assert again.json()["result"] == "duplicate"
    assert again.json()["alert_id"] == first.json()["alert_id"]
    assert wrong.status_code == 401
    assert len(tickets(container, tenant.id)) == 1


def test_a_body_with_lone_surrogates_nul_and_control_characters_is_stored_cleaned(
    client: TestClient, tenant: TenantFixture, container: Container, generic: dict[str, Any]
) -> None:
    """On both engines: an emoji cut in half ("\\ud83d" alone, which orjson refuses), a
    NUL (which PostgreSQL refuses in text and jsonb) and terminal escapes are replaced,
    and the alert is stored rather than lost or dead-lettered."""
    trigger = sample("generic", "trigger")
    trigger["title"] = "Disk \\ud83d full"
    trigger["message"] = "line one\\r\\nnul \\u0000 bell \\u0007\\tend \\udc00"
    trigger["device"]["name"] = "Contoso\\u001b[2J web shop"
    trigger["source_type"] = "web\u0085site"  # a C1 control, which JSON sends unescaped
    # Written by hand: the escapes go on the wire as a sender writes them.
    text = orjson.dumps(trigger).decode().replace("\\\\", "\\")
    assert "\\ud83d" in text and "\\u0000" in text
    answer = client.post(
        path(generic),
        content=text.encode(),
        headers={"X-Fleetward-Token": generic["webhook_secret"]},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "created"

    stored = client.get(
        f"/api/v1/alerts/{answer.json()['alert_id']}", headers=tenant.readonly.headers
    )
    assert stored.status_code == 200, stored.text
    shown = stored.json()
    assert shown["title"] == "Disk \ufffd full"
    assert shown["message"] == "line one\nnul \ufffd bell \ufffd\tend \ufffd"
    assert shown["device_name"] == "Contoso\ufffd[2J web shop"
    assert shown["source_type"] == "web\ufffdsite"
    assert len(tickets(container, tenant.id)) == 1
    letters = client.get(
        f"/api/v1/integrations/{generic['id']}/dead-letters", headers=tenant.operator.headers
    )
    assert letters.json()["items"] == []

    # The same body again is the same alert: cleaning is the same every time.
    again = client.post(
        path(generic),
        content=text.encode(),
        headers={"X-Fleetward-Token": generic["webhook_secret"]},
    )
    assert again.json()["result"] == "duplicate"


def test_a_body_that_is_not_json_is_kept_as_a_dead_letter_even_with_a_nul(
    client: TestClient, tenant: TenantFixture, generic: dict[str, Any]
) -> None:
    """The dead letter keeps the body as sent but for what text cannot hold."""
    body = b'{"kind": "triggered", \x00 "\xff'
    answer = client.post(
        path(generic), content=body, headers={"X-Fleetward-Token": generic["webhook_secret"]}
    )
    assert answer.status_code == 400
    letters = client.get(
        f"/api/v1/integrations/{generic['id']}/dead-letters", headers=tenant.operator.headers
    )
    (letter,) = letters.json()["items"]
    assert letter["body"] == '{"kind": "triggered", \ufffd "\ufffd'
