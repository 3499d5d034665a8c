"""tenant config version

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

tenant.config_version goes up with every insert, update or delete of what the
alert pipeline reads on each alert (rules, maintenance windows, organisation
mappings, boards, statuses, priorities). Database triggers do the counting, so
no write path (API, CLI, another node, a hand-run SQL fix) can forget it; the
pipeline reads the one number and reuses what it loaded at that version.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CONFIG_TABLES = (
    "alert_rule",
    "maintenance_window",
    "org_mapping",
    "board",
    "ticket_status",
    "priority",
)
_SQLITE_EVENTS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}
_PG_FUNCTION = "fleetward_bump_config_version"


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch_op:
        batch_op.add_column(
            sa.Column("config_version", sa.BigInteger(), server_default="0", nullable=False)
        )
    # The SQL below is built from this module's constant names only (hence noqa: S608).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    UPDATE tenant SET config_version = config_version + 1
                    WHERE id = OLD.tenant_id;
                ELSE
                    UPDATE tenant SET config_version = config_version + 1
                    WHERE id = NEW.tenant_id;
                END IF;
                RETURN NULL;
            END
            $$ LANGUAGE plpgsql
            """  # noqa: S608
        )
        for table in CONFIG_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_config_version AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()"
            )
        return
    for table in CONFIG_TABLES:
        for event, row in _SQLITE_EVENTS.items():
            op.execute(
                f"CREATE TRIGGER {table}_{event}_config_version AFTER {event.upper()} "  # noqa: S608
                f"ON {table} BEGIN UPDATE tenant SET config_version = config_version + 1 "
                f"WHERE id = {row}.tenant_id; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in CONFIG_TABLES:
            op.execute(f"DROP TRIGGER {table}_config_version ON {table}")
        op.execute(f"DROP FUNCTION {_PG_FUNCTION}()")
    else:
        for table in CONFIG_TABLES:
            for event in _SQLITE_EVENTS:
                op.execute(f"DROP TRIGGER {table}_{event}_config_version")
    with op.batch_alter_table("tenant") as batch_op:
        batch_op.drop_column("config_version")
