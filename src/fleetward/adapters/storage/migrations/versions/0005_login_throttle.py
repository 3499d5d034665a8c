"""login throttle

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

login_attempt kept one row per failure and a login counted them before checking
the password, then wrote its failure after: concurrent attempts all counted
none and all got through. login_throttle keeps one counter per account and per
address that a login increments, conditionally and atomically, before it
checks the password. The old rows only ever held the last window's failures,
so they are dropped rather than carried over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleetward.adapters.storage.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_login_throttle")),
    )
    op.create_index(
        op.f("ix_login_throttle_window_start"), "login_throttle", ["window_start"], unique=False
    )
    op.drop_index(op.f("ix_login_attempt_subject_at"), table_name="login_attempt")
    op.drop_table("login_attempt")


def downgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    op.create_index(
        op.f("ix_login_attempt_subject_at"), "login_attempt", ["subject", "at"], unique=False
    )
    op.drop_index(op.f("ix_login_throttle_window_start"), table_name="login_throttle")
    op.drop_table("login_throttle")
