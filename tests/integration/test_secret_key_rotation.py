"""Rotating FLEETWARD_SECRET_KEY: a new key first, `fleetward secrets reseal`, old key dropped.

Webhooks authenticate throughout, because their secrets are sealed at rest and
must be opened to check a delivery's signature.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.entrypoints.cli import app as cli_app
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, make_tenant
from tests.support.pipeline import make_integration, post, sample

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@contextmanager
def running(database_url: str, data_dir: Path, keys: str) -> Iterator[tuple[Container, TestClient]]:
    settings = Settings(database_url=database_url, data_dir=data_dir, secret_key=keys)
    container = build(settings, passwords=FAST_PASSWORDS)
    try:
        with TestClient(create_app(container)) as client:
            yield container, client
    finally:
        container.close()


def delivery_status(client: TestClient, integration: dict[str, object], n: int) -> int:
    payload = sample("generic", "trigger")
    payload["external_alert_id"] = f"rotation-{n}"
    return post(client, integration, payload).status_code


def test_a_rotated_key_keeps_every_webhook_working(database_url: str, tmp_path: Path) -> None:
    with running(database_url, tmp_path, OLD_KEY) as (container, client):
        tenant = make_tenant(container, "Acme MSP")
        integration = make_integration(client, tenant, "generic")
        assert delivery_status(client, integration, 1) in (200, 201, 202)

    with running(database_url, tmp_path, f"{NEW_KEY},{OLD_KEY}") as (container, client):
        assert delivery_status(client, integration, 2) in (200, 201, 202)
        assert container.integrations.reseal_secrets() == 1

    with running(database_url, tmp_path, NEW_KEY) as (container, client):
        assert delivery_status(client, integration, 3) in (200, 201, 202)


def test_reseal_without_the_old_key_says_so_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    with running(database_url, tmp_path, OLD_KEY) as (container, client):
        tenant = make_tenant(container, "Acme MSP")
        integration = make_integration(client, tenant, "generic")

    result = CliRunner().invoke(
        cli_app,
        ["--data-dir", str(tmp_path), "--database-url", database_url, "secrets", "reseal"],
        env={"FLEETWARD_SECRET_KEY": NEW_KEY},
    )
    assert result.exit_code == 1
    assert "none of the keys in FLEETWARD_SECRET_KEY" in " ".join(result.output.split())
    assert "Traceback" not in result.output

    with running(database_url, tmp_path, OLD_KEY) as (_, client):
        assert delivery_status(client, integration, 4) in (200, 201, 202)

    result = CliRunner().invoke(
        cli_app,
        ["--data-dir", str(tmp_path), "--database-url", database_url, "secrets", "reseal"],
        env={"FLEETWARD_SECRET_KEY": f"{NEW_KEY},{OLD_KEY}"},
    )
    assert result.exit_code == 0, result.output
    assert "resealed 1 secrets" in result.output


def test_reseal_also_moves_provider_credentials_onto_the_new_key(
    database_url: str, tmp_path: Path
) -> None:
    credentials = {"client_id": "ninja-id", "client_secret": "ninja-secret-value"}
    with running(database_url, tmp_path, OLD_KEY) as (container, client):
        tenant = make_tenant(container, "Acme MSP")
        made = client.post(
            "/api/v1/integrations",
            json={"provider": "ninjaone", "name": "Ninja", "credentials": credentials},
            headers=tenant.admin.headers,
        )
        assert made.status_code == 201, made.text
        integration_id = uuid.UUID(made.json()["id"])

    with running(database_url, tmp_path, f"{NEW_KEY},{OLD_KEY}") as (container, _):
        assert container.integrations.reseal_secrets() == 2  # webhook secret and credentials

    with running(database_url, tmp_path, NEW_KEY) as (container, _):
        opened = container.integrations.opened_credentials(tenant.id, integration_id)
        assert opened is not None and opened[1] == credentials


def test_a_rotated_key_keeps_users_chat_webhooks(database_url: str, tmp_path: Path) -> None:
    hook = {"chat": {"events": [], "chat_kind": "slack", "target": "https://hooks.example/T/s"}}
    path = "/api/v1/users/me/notification-preferences"
    with running(database_url, tmp_path, OLD_KEY) as (container, client):
        tenant = make_tenant(container, "Acme MSP")
        assert client.put(path, json=hook, headers=tenant.operator.headers).status_code == 200

    result = CliRunner().invoke(
        cli_app,
        ["--data-dir", str(tmp_path), "--database-url", database_url, "secrets", "reseal"],
        env={"FLEETWARD_SECRET_KEY": f"{NEW_KEY},{OLD_KEY}"},
    )
    assert result.exit_code == 0, result.output
    assert "resealed 1 secrets" in result.output

    with running(database_url, tmp_path, NEW_KEY) as (container, client):
        shown = client.get(path, headers=tenant.operator.headers)
        assert shown.status_code == 200, shown.text
        assert shown.json()["chat"]["target"] == "https://hooks.example/…"


def test_a_chat_webhook_sealed_with_a_dropped_key_is_said_to_be_unreadable(
    database_url: str, tmp_path: Path
) -> None:
    hook = {"chat": {"events": [], "chat_kind": "slack", "target": "https://hooks.example/T/s"}}
    path = "/api/v1/users/me/notification-preferences"
    with running(database_url, tmp_path, OLD_KEY) as (container, client):
        tenant = make_tenant(container, "Acme MSP")
        assert client.put(path, json=hook, headers=tenant.operator.headers).status_code == 200

    with running(database_url, tmp_path, NEW_KEY) as (container, client):  # no reseal
        shown = client.get(path, headers=tenant.operator.headers)
        assert shown.status_code == 200, shown.text
        assert "save it again" in shown.json()["chat"]["target"]
