"""Pipeline A: integrations, alerts, rules, windows, tickets, sync runs, flap state."""

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
    text,
)

from fleetward.adapters.storage.schema.base import (
    JSONDoc,
    UTCDateTime,
    created_column,
    id_column,
    metadata,
    tenant_fk,
)

integration = Table(
    "integration",
    metadata,
    id_column(),
    tenant_fk(),
    Column("provider", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    # Non-secret settings: default_client_id, client_label, poll interval, API base URL.
    Column("settings", JSONDoc, nullable=False),
    # Encrypted at rest (Fernet): HMAC signatures need the secret itself, not a hash.
    Column("webhook_secret", Text, nullable=False),
    Column("credentials", Text, nullable=True),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "name"),
    Index(None, "tenant_id", "created_at", "id"),
)

org_mapping = Table(
    "org_mapping",
    metadata,
    id_column(),
    tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("external_org_id", String(200), nullable=False),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="CASCADE"), nullable=False),
    created_column(),
    UniqueConstraint("integration_id", "external_org_id"),
    Index(None, "tenant_id", "integration_id", "created_at", "id"),
)

asset = Table(
    "asset",
    metadata,
    id_column(),
    tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("external_device_id", String(200), nullable=False),
    Column("name", String(300), nullable=False, server_default=""),
    Column("external_org_id", String(200), nullable=True),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="SET NULL"), nullable=True),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("integration_id", "external_device_id"),
    Index(None, "tenant_id", "created_at", "id"),
)

dead_letter = Table(
    "dead_letter",
    metadata,
    id_column(),
    tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("body", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("field", String(200), nullable=True),
    created_column(),
    Column("replayed_at", UTCDateTime, nullable=True),
    Column("replay_result", String(200), nullable=True),
    Index(None, "tenant_id", "integration_id", "created_at", "id"),
)

board = Table(
    "board",
    metadata,
    id_column(),
    tenant_fk(),
    Column("name", String(200), nullable=False),
    # Not a foreign key: board and status refer to each other.
    Column("default_status_id", Uuid, nullable=True),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "name"),
    Index(None, "tenant_id", "created_at", "id"),
)

ticket_status = Table(
    "ticket_status",
    metadata,
    id_column(),
    tenant_fk(),
    Column("board_id", Uuid, ForeignKey("board.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(10), nullable=False),  # open | closed
    Column("position", Integer, nullable=False),
    created_column(),
    UniqueConstraint("board_id", "name"),
    Index(None, "tenant_id", "board_id", "created_at", "id"),
)

priority = Table(
    "priority",
    metadata,
    id_column(),
    tenant_fk(),
    Column("name", String(100), nullable=False),
    Column("position", Integer, nullable=False),
    created_column(),
    UniqueConstraint("tenant_id", "name"),
    Index(None, "tenant_id", "created_at", "id"),
)

ticket = Table(
    "ticket",
    metadata,
    id_column(),
    tenant_fk(),
    Column("number", BigInteger, nullable=False),
    Column("board_id", Uuid, ForeignKey("board.id"), nullable=False),
    Column("status_id", Uuid, ForeignKey("ticket_status.id"), nullable=False),
    Column("priority_id", Uuid, ForeignKey("priority.id", ondelete="SET NULL"), nullable=True),
    Column("assignee_id", Uuid, ForeignKey("app_user.id", ondelete="SET NULL"), nullable=True),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="SET NULL"), nullable=True),
    Column("title", String(500), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("dedup_key", String(600), nullable=True),
    Column("occurrence_count", Integer, nullable=False, server_default="1"),
    # Copied from the status kind so one index can say "one open ticket per key".
    Column("is_closed", Boolean, nullable=False, server_default="0"),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    # Closed by an alert reset rather than a person: only such a ticket may be
    # reopened by the same condition triggering again (flap protection).
    Column("auto_closed", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("tenant_id", "number"),
    Index(None, "tenant_id", "created_at", "id"),
    # A trigger with no open ticket looks up its key's last closed one (reopen window).
    # Closed tickets only: a new ticket's insert then writes no entry here.
    Index(
        "ix_ticket_closed_dedup_key",
        "tenant_id",
        "dedup_key",
        "closed_at",
        sqlite_where=text("closed_at IS NOT NULL"),
        postgresql_where=text("closed_at IS NOT NULL"),
    ),
    Index(
        "uq_ticket_open_dedup_key",
        "tenant_id",
        "dedup_key",
        unique=True,
        sqlite_where=text("is_closed = 0 AND dedup_key IS NOT NULL"),
        postgresql_where=text("is_closed = false AND dedup_key IS NOT NULL"),
    ),
)

ticket_comment = Table(
    "ticket_comment",
    metadata,
    id_column(),
    tenant_fk(),
    Column("ticket_id", Uuid, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False),
    Column("author_type", String(10), nullable=False),  # system | user
    Column("author_id", Uuid, nullable=True),
    Column("body", Text, nullable=False),
    created_column(),
    Index(None, "tenant_id", "ticket_id", "created_at", "id"),
)

time_entry = Table(
    "time_entry",
    metadata,
    id_column(),
    tenant_fk(),
    Column("ticket_id", Uuid, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Uuid, ForeignKey("app_user.id", ondelete="SET NULL"), nullable=True),
    Column("minutes", Integer, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    created_column(),
    Index(None, "tenant_id", "ticket_id", "created_at", "id"),
)

alert_rule = Table(
    "alert_rule",
    metadata,
    id_column(),
    tenant_fk(),
    Column("name", String(200), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("position", Integer, nullable=False),
    Column("conditions", JSONDoc, nullable=False),
    Column("actions", JSONDoc, nullable=False),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "position"),
    Index(None, "tenant_id", "created_at", "id"),
)

maintenance_window = Table(
    "maintenance_window",
    metadata,
    id_column(),
    tenant_fk(),
    Column("name", String(200), nullable=False),
    Column("integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=True),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="CASCADE"), nullable=True),
    Column("asset_id", Uuid, ForeignKey("asset.id", ondelete="CASCADE"), nullable=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("recurrence", JSONDoc, nullable=True),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "created_at", "id"),
)

alert = Table(
    "alert",
    metadata,
    id_column(),
    tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("provider", String(20), nullable=False),
    Column("external_alert_id", String(300), nullable=False),
    Column("series_key", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("title", String(500), nullable=False),
    Column("message", Text, nullable=False),
    Column("condition_identity", String(300), nullable=False),
    Column("activity_type", String(100), nullable=False, server_default=""),
    Column("alert_class", String(200), nullable=False, server_default=""),
    Column("source_type", String(100), nullable=False, server_default=""),
    Column("device_external_id", String(200), nullable=False),
    Column("device_name", String(300), nullable=False, server_default=""),
    Column("external_org_id", String(200), nullable=True),
    Column("asset_id", Uuid, ForeignKey("asset.id", ondelete="SET NULL"), nullable=True),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="SET NULL"), nullable=True),
    Column("rule_id", Uuid, ForeignKey("alert_rule.id", ondelete="SET NULL"), nullable=True),
    Column("ticket_id", Uuid, ForeignKey("ticket.id", ondelete="SET NULL"), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    created_column(),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("trace", JSONDoc, nullable=False),
    Column("raw", JSONDoc, nullable=False),
    Column("outbound_error", Text, nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    # No foreign key: adding one would make SQLite copy the whole alert table.
    Column("acknowledged_by", Uuid, nullable=True),
    # A replayed occurrence is the same row: this is what makes ingest idempotent.
    UniqueConstraint("integration_id", "external_alert_id"),
    Index(None, "integration_id", "series_key", "status"),
    Index(None, "tenant_id", "created_at", "id"),
    Index(None, "tenant_id", "occurred_at", "id"),
    # Open alerts by status, severity and client (the overview, the alert list's
    # status filter and its total): read from the index alone, never the history.
    Index(None, "tenant_id", "status", "severity", "client_id"),
    Index(None, "ticket_id"),
    Index(None, "asset_id"),
    # An integration's newest alert: when its last webhook came (the integrations page).
    Index(None, "integration_id", "created_at"),
)

# Resets and acknowledgements that were processed, so a replayed one is a no-op
# (a trigger's own row in `alert` plays that part for triggers).
alert_receipt = Table(
    "alert_receipt",
    metadata,
    id_column(),
    tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", String(20), nullable=False),
    Column("external_id", String(300), nullable=False),
    created_column(),
    UniqueConstraint("integration_id", "kind", "external_id"),
    Index(None, "integration_id", "created_at"),
)

# --- Reconciliation: one row per sync run of an integration ---------------------
sync_run = Table(
    "sync_run",
    metadata,
    id_column(),
    tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("trigger", String(20), nullable=False),  # schedule | manual
    Column("status", String(20), nullable=False),  # running | succeeded | failed
    Column("started_at", UTCDateTime, nullable=False),
    # A run whose process died is taken over once this has passed.
    Column("lease_until", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("created", Integer, nullable=False, server_default="0"),
    Column("resolved", Integer, nullable=False, server_default="0"),
    Column("reevaluated", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("errors", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=True),
    Index(None, "tenant_id", "integration_id", "started_at"),
    # One run per integration at a time, on every node: a second insert fails.
    Index(
        "uq_sync_run_running",
        "integration_id",
        unique=True,
        sqlite_where=text("status = 'running'"),
        postgresql_where=text("status = 'running'"),
    ),
)

# --- Flap protection: recent triggers per dedup key ------------------------------
flap_state = Table(
    "flap_state",
    metadata,
    Column("tenant_id", Uuid, ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True),
    Column("dedup_key", String(600), primary_key=True),
    # The latest trigger times (ISO), at most the threshold + 1 of them.
    Column("recent", JSONDoc, nullable=False),
    Column("flapping_since", UTCDateTime, nullable=True),
    Column("last_trigger_at", UTCDateTime, nullable=False),
)
