"""Agents, event-log watch rules and the timeline."""

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
    UniqueConstraint,
    Uuid,
)

from fleetward.adapters.storage.schema.base import (
    JSONDoc,
    UTCDateTime,
    created_column,
    id_column,
    metadata,
    tenant_fk,
)

enrollment_token = Table(
    "enrollment_token",
    metadata,
    id_column(),
    tenant_fk(),
    Column("site_id", Uuid, ForeignKey("site.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False, server_default=""),
    # Shown once; only its hash is kept, like API keys.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    created_column(),
    Index(None, "tenant_id", "created_at", "id"),
)

agent = Table(
    "agent",
    metadata,
    id_column(),
    tenant_fk(),
    Column("site_id", Uuid, ForeignKey("site.id", ondelete="CASCADE"), nullable=False),
    Column("hostname", String(255), nullable=False),
    Column("os", String(100), nullable=False),
    Column("agent_version", String(50), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("config_version", Integer, nullable=False, server_default="0"),
    Column("last_seen_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "created_at", "id"),
)

eventlog_watch = Table(
    "eventlog_watch",
    metadata,
    id_column(),
    tenant_fk(),
    Column("name", String(200), nullable=False),
    Column("scope_type", String(10), nullable=False),  # tenant | client | site | agent
    Column("scope_id", Uuid, nullable=True),
    Column("log_name", String(200), nullable=False),
    Column("event_ids", JSONDoc, nullable=False),
    Column("providers", JSONDoc, nullable=False),
    Column("min_level", String(20), nullable=False),
    Column("keywords", JSONDoc, nullable=False),
    Column("alert_severity", String(10), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "created_at", "id"),
)

obs_event = Table(
    "obs_event",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    tenant_fk(),
    Column("pc_id", Uuid, ForeignKey("agent.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("source", String(200), nullable=False),
    # The source's own id for the record (Windows record id, journald cursor); when a
    # sender has none the server derives one from the content, so re-sends still dedupe.
    Column("event_record_id", String(300), nullable=False),
    Column("payload", JSONDoc, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("pc_id", "source", "event_record_id"),
    Index(None, "tenant_id", "pc_id", "at"),
    # The tenant's whole timeline, newest first (the /timeline page with no machine
    # chosen): without it every page sorts all of the tenant's events.
    Index(None, "tenant_id", "at", "id"),
)
