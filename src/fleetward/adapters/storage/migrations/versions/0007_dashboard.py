"""dashboard

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

A person's time zone for every time the dashboard shows (empty: the browser's),
and the indexes the dashboard's lists and pages read by: alerts by occurrence
time (the default order of a shift's alert list) and a device's alerts, and
clients by name in any case (the clients page's default order), and a tenant's
timeline by time (the timeline page's default, with no machine chosen).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("time_zone", sa.String(length=64), server_default="", nullable=False)
        )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_tenant_id_occurred_at_id"),
            ["tenant_id", "occurred_at", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_alert_asset_id"), ["asset_id"], unique=False)
    with op.batch_alter_table("obs_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_obs_event_tenant_id_at_id"), ["tenant_id", "at", "id"], unique=False
        )
    op.create_index(
        "ix_client_tenant_id_lower_name",
        "client",
        ["tenant_id", sa.text("lower(name)"), "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_client_tenant_id_lower_name", table_name="client")
    with op.batch_alter_table("obs_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obs_event_tenant_id_at_id"))
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_asset_id"))
        batch_op.drop_index(batch_op.f("ix_alert_tenant_id_occurred_at_id"))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
