"""The command line, run as a person would, on both engines."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fleetward.adapters.storage.database import Database
from fleetward.adapters.storage.migrate import head_revision as _head
from fleetward.bootstrap import build
from fleetward.config import Settings
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.entrypoints.cli import DEMO_ADMIN, app
from fleetward.entrypoints.http.app import create_app

runner = CliRunner()


def head_revision() -> str | None:
    db = Database("sqlite://")
    try:
        return _head(db)
    finally:
        db.dispose()


Cli = Callable[..., Result]


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    """Run `fleetward` against this test's database; keyword `stdin` feeds input."""

    def run(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(
            app, ["--data-dir", str(tmp_path), "--database-url", database_url, *args], input=stdin
        )

    return run


def test_init_is_idempotent(cli: Cli) -> None:
    first = cli("init")
    second = cli("init")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert f"revision {head_revision()}" in second.output


def test_tenant_user_and_key_make_a_working_api_login(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    assert cli("tenant", "create", "Acme MSP").exit_code == 0
    made = cli(
        "user",
        "create",
        "--tenant",
        "Acme MSP",
        "--email",
        "Ops@Acme.test",
        "--role",
        "admin",
        stdin="a long enough password\n",
    )
    assert made.exit_code == 0, made.output
    assert "password:" not in made.output  # given on stdin, so nothing to print

    keyed = cli("apikey", "create", "--email", "ops@acme.test", "--name", "automation")
    assert keyed.exit_code == 0, keyed.output
    key = re.search(r"fwk_\S+", keyed.output)
    assert key is not None

    container = build(Settings(database_url=database_url, data_dir=tmp_path))
    try:
        with TestClient(create_app(container)) as http:
            h = {"Authorization": f"Bearer {key.group(0)}"}
            assert (
                http.post("/api/v1/clients", json={"name": "Contoso"}, headers=h).status_code == 201
            )
            users = http.get("/api/v1/users", headers=h).json()["items"]
            assert [u["email"] for u in users] == ["ops@acme.test"]
    finally:
        container.close()


def test_generated_password_is_printed_and_works(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    cli("tenant", "create", "Acme")
    made = cli(
        "user",
        "create",
        "--tenant",
        "Acme",
        "--email",
        "a@acme.test",
        "--role",
        "readonly",
        stdin="",
    )
    assert made.exit_code == 0, made.output
    password = re.search(r"password: (\S+)", made.output)
    assert password is not None
    container = build(Settings(database_url=database_url, data_dir=tmp_path))
    try:
        user, _ = container.identity.login("a@acme.test", password.group(1), "127.0.0.1")
        assert user.role.value == "readonly"
    finally:
        container.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("user", "create", "--tenant", "Nope", "--email", "x@y.test"), "no tenant named 'Nope'"),
        (("apikey", "create", "--email", "ghost@y.test", "--name", "k"), "no user with e-mail"),
        (("tenant", "create", "   "), "name must not be empty"),
    ],
)
def test_user_errors_are_one_line_without_traceback(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    cli("init")
    result = cli(*args, stdin="")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_duplicate_tenant_and_short_password_are_refused(cli: Cli) -> None:
    cli("tenant", "create", "Acme")
    again = cli("tenant", "create", "Acme")
    assert again.exit_code == 1
    assert "exists" in again.output
    short = cli("user", "create", "--tenant", "Acme", "--email", "a@b.test", stdin="short\n")
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output


def test_commands_on_an_uninitialised_database_say_to_run_init(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "empty"), "tenant", "create", "X"])
    assert result.exit_code == 1
    assert "fleetward init" in result.output


def test_a_database_that_cannot_be_reached_is_one_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://fleetward@127.0.0.1:{port}/fleetward"
    result = runner.invoke(
        app, ["--data-dir", str(tmp_path), "--database-url", url, "tenant", "create", "X"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: database: ")
    assert str(port) in result.output  # the driver's own words, for the operator
    assert "Traceback" not in result.output


def test_demo_prints_a_login_that_works_and_can_run_twice(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    first = cli("demo")
    assert first.exit_code == 0, first.output
    second = cli("demo")
    assert second.exit_code == 0, second.output
    password = re.search(r"password: (\S+)", second.output)
    assert password is not None and DEMO_ADMIN in second.output
    container = build(Settings(database_url=database_url, data_dir=tmp_path))
    try:
        user, _ = container.identity.login(DEMO_ADMIN, password.group(1), "127.0.0.1")
        with TestClient(create_app(container)) as http:
            _, secret = container.identity.create_api_key(SYSTEM_CLI, user, "t")
            auth = {"Authorization": f"Bearer {secret}"}
            clients = http.get("/api/v1/clients", headers=auth).json()
            alerts = http.get("/api/v1/alerts", headers=auth).json()
            tickets = http.get("/api/v1/tickets", headers=auth).json()
        # Running demo twice does not duplicate the sample clients or their alerts.
        assert len(clients["items"]) == 3
        # The sample alerts went through the pipeline: each trigger has its ticket
        # and the reset resolved its alert.
        assert alerts["total"] == 6
        statuses = sorted(a["status"] for a in alerts["items"])
        assert statuses == ["active"] * 5 + ["resolved"]
        assert all(a["ticket_id"] and a["client_id"] for a in alerts["items"])
        assert len({a["client_id"] for a in alerts["items"]}) == 3
        assert tickets["total"] == 6
    finally:
        container.close()


def test_module_entrypoint_prints_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fleetward", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "demo" in result.stdout and "serve" in result.stdout
