"""Alembic environment: the Database comes from migrate.alembic_config."""

from __future__ import annotations

from alembic import context

from fleetward.adapters.storage.schema import metadata

database = context.config.attributes["database"]

with database.write() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=database.is_sqlite,
        transaction_per_migration=False,
    )
    context.run_migrations()
