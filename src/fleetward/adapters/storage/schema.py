"""The table set, shared by SQLite and PostgreSQL.

Every row outside `tenant` carries tenant_id; every id is a random UUID.
Migrations under migrations/versions must produce exactly this schema
(a test compares them on both engines).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same ordering on both engines."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


JSONDoc: Any = JSON().with_variant(JSONB(), "postgresql")


def _id() -> Column[Any]:
    return Column("id", Uuid, primary_key=True)


def _tenant_fk() -> Column[Any]:
    return Column("tenant_id", Uuid, ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False)


def _created() -> Column[Any]:
    return Column("created_at", UTCDateTime, nullable=False)


tenant = Table(
    "tenant",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    _created(),
)

app_user = Table(
    "app_user",
    metadata,
    _id(),
    _tenant_fk(),
    # Unique across tenants: people log in with their address alone.
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "created_at", "id"),
)

api_key = Table(
    "api_key",
    metadata,
    _id(),
    _tenant_fk(),
    Column("user_id", Uuid, ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    # The first characters of the key, so people can tell their keys apart.
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    _created(),
    Column("last_used_at", UTCDateTime, nullable=True),
    Index(None, "tenant_id", "created_at", "id"),
)

user_session = Table(
    "user_session",
    metadata,
    _id(),
    _tenant_fk(),
    Column("user_id", Uuid, ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    _created(),
    Column("expires_at", UTCDateTime, nullable=False),
)

login_attempt = Table(
    "login_attempt",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    # "email:<address>" or "ip:<address>": one counter table for both limits.
    Column("subject", String(300), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "subject", "at"),
)

client = Table(
    "client",
    metadata,
    _id(),
    _tenant_fk(),
    Column("name", String(200), nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "name"),
    Index(None, "tenant_id", "created_at", "id"),
)

site = Table(
    "site",
    metadata,
    _id(),
    _tenant_fk(),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("address", Text, nullable=False, server_default=""),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("client_id", "name"),
    Index(None, "tenant_id", "client_id", "created_at", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    _tenant_fk(),
    # Position in the tenant's hash chain, from 1.
    Column("seq", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_type", String(20), nullable=False),
    Column("actor_id", Uuid, nullable=True),
    Column("actor_label", String(300), nullable=False),
    Column("action", String(100), nullable=False),
    Column("object_type", String(50), nullable=False),
    Column("object_id", String(100), nullable=True),
    Column("before", JSONDoc, nullable=True),
    Column("after", JSONDoc, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("tenant_id", "seq"),
)
