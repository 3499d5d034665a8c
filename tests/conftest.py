"""Shared fixtures: a database on each engine, the app, and tenants to act as."""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from fleetward.adapters.security.passwords import Argon2Passwords
from fleetward.adapters.storage import migrate
from fleetward.adapters.storage.database import Database
from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.identity import Role
from fleetward.entrypoints.http.app import create_app
from tests.support.components import find_postgres_bin, missing
from tests.support.postgres import PostgresServer

ENGINES = ["sqlite", "postgresql"]

# The verification suite's table, summed over xdist workers and printed at the end.
pytest_plugins = ["tests.verify.report"]


@pytest.fixture(autouse=True, scope="session")
def _no_background_jobs() -> Iterator[None]:
    """No server of the tests (in process or `fleetward serve`) runs the scheduler's jobs:
    a retention cleanup would delete the fixtures' years-old events under a test's feet.
    The tests of the scheduler turn it on for themselves."""
    patch = pytest.MonkeyPatch()
    patch.setenv("FLEETWARD_SCHEDULER_ENABLED", "false")
    yield
    patch.undo()


PASSWORD = "correct horse battery staple"
# Real argon2id, with cheap parameters: the tests hash hundreds of passwords.
FAST_PASSWORDS = Argon2Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        missing("PostgreSQL", "install Debian's postgresql package (make test does)")
    assert bin_dir is not None
    server = PostgresServer(bin_dir)
    server.start()
    server.execute("CREATE DATABASE fleetward_template")
    db = Database(server.url("fleetward_template"))
    migrate.upgrade(db)
    db.dispose()
    yield server
    server.stop()


@pytest.hookimpl(tryfirst=True)  # before the fixture's own params are applied
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`sqlite_only` modules (pages, agent processes) take the SQLite half of database_url."""
    if "database_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "sqlite_only"
    ):
        # As a marker, so the fixture's own params step aside (they do for markers).
        metafunc.definition.add_marker(
            pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
        )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


_pg_names = itertools.count()


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database on each engine."""
    if request.param == "sqlite":
        target = tmp_path / "fleetward.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t{next(_pg_names)}_{uuid.uuid4().hex[:8]}"
    server.execute(f"CREATE DATABASE {name} TEMPLATE fleetward_template")
    yield server.url(name)
    server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, log_json=True)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    c = build(settings, passwords=FAST_PASSWORDS)
    yield c
    c.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as tc:
        yield tc


@dataclass
class Actor:
    """A user of a tenant, with an API key to call the API as them."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    role: Role
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class TenantFixture:
    id: uuid.UUID
    name: str
    actors: dict[Role, Actor] = field(default_factory=dict)

    @property
    def admin(self) -> Actor:
        return self.actors[Role.ADMIN]

    @property
    def operator(self) -> Actor:
        return self.actors[Role.OPERATOR]

    @property
    def readonly(self) -> Actor:
        return self.actors[Role.READONLY]


def make_tenant(container: Container, name: str) -> TenantFixture:
    tenant = container.identity.create_tenant(name)
    fixture = TenantFixture(tenant.id, tenant.name)
    slug = name.lower().replace(" ", "-")
    for role in Role:
        email = f"{role.value}@{slug}.test"
        user = container.identity.create_user(SYSTEM_CLI, tenant.id, email, role, PASSWORD)
        _, secret = container.identity.create_api_key(SYSTEM_CLI, user, f"{role.value} key")
        fixture.actors[role] = Actor(tenant.id, user.id, email, role, secret)
    return fixture


@pytest.fixture
def tenant(container: Container) -> TenantFixture:
    return make_tenant(container, "Acme MSP")


@pytest.fixture
def other_tenant(container: Container) -> TenantFixture:
    return make_tenant(container, "Globex MSP")
