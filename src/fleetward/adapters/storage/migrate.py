"""Run Alembic migrations from code, so `fleetward init` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from fleetward.adapters.storage.database import Database
from fleetward.adapters.storage.faults import as_storage_unavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database"] = db
    return config


def upgrade(db: Database) -> None:
    """Create or migrate the schema to the newest revision; a no-op when current."""
    with as_storage_unavailable():
        command.upgrade(alembic_config(db), "head")


def current_revision(db: Database) -> str | None:
    with as_storage_unavailable(), db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()
