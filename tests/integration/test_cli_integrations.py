"""`fleetward integrations sync ID` as a person runs it (SQLite: the storage is the
same as the API's, tested on both engines there)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleetward.bootstrap import build
from fleetward.config import Settings
from fleetward.domain.alerts import Provider
from fleetward.domain.identity import Principal, Role
from fleetward.entrypoints.cli import app
from tests.conftest import FAST_PASSWORDS

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

runner = CliRunner()


def test_sync_names_what_stands_in_its_way(database_url: str, tmp_path: Path) -> None:
    def cli(*args: str) -> tuple[int, str]:
        done = runner.invoke(
            app, ["--data-dir", str(tmp_path), "--database-url", database_url, *args]
        )
        return done.exit_code, done.output

    c = build(Settings(database_url=database_url, data_dir=tmp_path), passwords=FAST_PASSWORDS)
    try:
        tenant = c.identity.create_tenant("Acme MSP")
        admin = Principal(tenant.id, uuid.uuid4(), "admin@acme.test", Role.ADMIN)
        ninja, _ = c.integrations.create(admin, Provider.NINJAONE, "Ninja", {})
        generic, _ = c.integrations.create(admin, Provider.GENERIC, "Generic", {})
    finally:
        c.close()

    code, output = cli("integrations", "sync", str(ninja.id))
    assert code == 1
    assert "no API credentials yet" in output and "Traceback" not in output
    code, output = cli("integrations", "sync", str(generic.id))
    assert code == 1 and "webhook only" in output
    code, output = cli("integrations", "sync", str(uuid.uuid4()))
    assert code == 1 and "no such integration" in output
    code, output = cli("integrations", "sync", "nope")
    assert code == 1 and "'nope' is not an integration id" in output
