"""Tenants, their people and keys, sign-in, clients and sites, the audit log."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)

from fleetward.adapters.storage.schema.base import (
    JSONDoc,
    UTCDateTime,
    created_column,
    id_column,
    metadata,
    tenant_fk,
)

tenant = Table(
    "tenant",
    metadata,
    id_column(),
    Column("name", String(200), nullable=False, unique=True),
    created_column(),
    # Bumped by triggers (migration 0004) on every change to what the alert
    # pipeline reads per alert, so it can cache that by this one number.
    Column("config_version", BigInteger, nullable=False, server_default="0"),
    # Tenant-wide pipeline settings (reopen_window_minutes, flap_threshold,
    # flap_window_minutes); absent keys take their documented defaults.
    Column("settings", JSONDoc, nullable=False, server_default="{}"),
)

app_user = Table(
    "app_user",
    metadata,
    id_column(),
    tenant_fk(),
    # Unique across tenants: people log in with their address alone.
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    # An IANA name for the times the dashboard shows; empty: the browser's.
    Column("time_zone", String(64), nullable=False, server_default=""),
    Index(None, "tenant_id", "created_at", "id"),
)

api_key = Table(
    "api_key",
    metadata,
    id_column(),
    tenant_fk(),
    Column("user_id", Uuid, ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    # The first characters of the key, so people can tell their keys apart.
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    created_column(),
    Column("last_used_at", UTCDateTime, nullable=True),
    Index(None, "tenant_id", "created_at", "id"),
)

user_session = Table(
    "user_session",
    metadata,
    id_column(),
    tenant_fk(),
    Column("user_id", Uuid, ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    created_column(),
    Column("expires_at", UTCDateTime, nullable=False),
)

# One row per thing logins are limited by ("account:<e-mail>", "address:<ip>"): the
# attempts counted in its current window, failures and attempts still being checked.
# A login takes an attempt with one conditional upsert before it checks the password,
# so concurrent attempts cannot all pass a limit that none of them has recorded yet.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("subject", String(300), primary_key=True),
    Column("window_start", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    # Expired windows are deleted oldest first.
    Index(None, "window_start"),
)

client = Table(
    "client",
    metadata,
    id_column(),
    tenant_fk(),
    Column("name", String(200), nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "name"),
    Index(None, "tenant_id", "created_at", "id"),
)
# The dashboard lists clients by name in any case (a keyset over (lower(name), id)).
Index("ix_client_tenant_id_lower_name", client.c.tenant_id, func.lower(client.c.name), client.c.id)

site = Table(
    "site",
    metadata,
    id_column(),
    tenant_fk(),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("address", Text, nullable=False, server_default=""),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("client_id", "name"),
    Index(None, "tenant_id", "client_id", "created_at", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    id_column(),
    tenant_fk(),
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
    # One object's entries (a ticket's history on its page, ?object_id= of the API).
    Index(None, "tenant_id", "object_id", "seq"),
)
