"""dashboard

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

A person's time zone for every time the dashboard shows (empty: the browser's),
and the indexes the dashboard's lists and pages read by: alerts by occurrence
time (the default order of a shift's alert list), a device's alerts, open
alerts by status, severity and client (the overview's counts); one object's
audit entries (a ticket's history on its page), and an integration's newest
alert and receipt (when its last webhook came, read without a write on the
webhook path); clients by name in any case (the clients page's default order),
and a tenant's timeline by time (the timeline page's default, with no machine
chosen).
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
        batch_op.create_index(
            batch_op.f("ix_alert_tenant_id_status_severity_client_id"),
            ["tenant_id", "status", "severity", "client_id"],
            unique=False,
        )
    # Plain CREATE INDEX: nothing here needs SQLite's table copy (and the audit log's
    # triggers refuse the copy's DELETE).
    op.create_index(
        "ix_audit_log_tenant_id_object_id_seq", "audit_log", ["tenant_id", "object_id", "seq"]
    )
    op.create_index("ix_alert_integration_id_created_at", "alert", ["integration_id", "created_at"])
    op.create_index(
        "ix_alert_receipt_integration_id_created_at",
        "alert_receipt",
        ["integration_id", "created_at"],
    )
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
    op.drop_index("ix_alert_receipt_integration_id_created_at", table_name="alert_receipt")
    op.drop_index("ix_alert_integration_id_created_at", table_name="alert")
    op.drop_index("ix_audit_log_tenant_id_object_id_seq", table_name="audit_log")
    op.drop_index("ix_client_tenant_id_lower_name", table_name="client")
    with op.batch_alter_table("obs_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obs_event_tenant_id_at_id"))
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_tenant_id_status_severity_client_id"))
        batch_op.drop_index(batch_op.f("ix_alert_asset_id"))
        batch_op.drop_index(batch_op.f("ix_alert_tenant_id_occurred_at_id"))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
