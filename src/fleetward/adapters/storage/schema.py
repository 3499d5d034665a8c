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
    text,
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


# --- Pipeline A: integrations, alerts, rules, windows, tickets -------------------

integration = Table(
    "integration",
    metadata,
    _id(),
    _tenant_fk(),
    Column("provider", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    # Non-secret settings: default_client_id, client_label, poll interval, API base URL.
    Column("settings", JSONDoc, nullable=False),
    # Encrypted at rest (Fernet): HMAC signatures need the secret itself, not a hash.
    Column("webhook_secret", Text, nullable=False),
    Column("credentials", Text, nullable=True),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "name"),
    Index(None, "tenant_id", "created_at", "id"),
)

org_mapping = Table(
    "org_mapping",
    metadata,
    _id(),
    _tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("external_org_id", String(200), nullable=False),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="CASCADE"), nullable=False),
    _created(),
    UniqueConstraint("integration_id", "external_org_id"),
    Index(None, "tenant_id", "integration_id", "created_at", "id"),
)

asset = Table(
    "asset",
    metadata,
    _id(),
    _tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("external_device_id", String(200), nullable=False),
    Column("name", String(300), nullable=False, server_default=""),
    Column("external_org_id", String(200), nullable=True),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="SET NULL"), nullable=True),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("integration_id", "external_device_id"),
    Index(None, "tenant_id", "created_at", "id"),
)

dead_letter = Table(
    "dead_letter",
    metadata,
    _id(),
    _tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("body", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("field", String(200), nullable=True),
    _created(),
    Column("replayed_at", UTCDateTime, nullable=True),
    Column("replay_result", String(200), nullable=True),
    Index(None, "tenant_id", "integration_id", "created_at", "id"),
)

board = Table(
    "board",
    metadata,
    _id(),
    _tenant_fk(),
    Column("name", String(200), nullable=False),
    # Not a foreign key: board and status refer to each other.
    Column("default_status_id", Uuid, nullable=True),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "name"),
    Index(None, "tenant_id", "created_at", "id"),
)

ticket_status = Table(
    "ticket_status",
    metadata,
    _id(),
    _tenant_fk(),
    Column("board_id", Uuid, ForeignKey("board.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(10), nullable=False),  # open | closed
    Column("position", Integer, nullable=False),
    _created(),
    UniqueConstraint("board_id", "name"),
    Index(None, "tenant_id", "board_id", "created_at", "id"),
)

priority = Table(
    "priority",
    metadata,
    _id(),
    _tenant_fk(),
    Column("name", String(100), nullable=False),
    Column("position", Integer, nullable=False),
    _created(),
    UniqueConstraint("tenant_id", "name"),
    Index(None, "tenant_id", "created_at", "id"),
)

ticket = Table(
    "ticket",
    metadata,
    _id(),
    _tenant_fk(),
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
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    # Closed by an alert reset rather than a person: only such a ticket may be
    # reopened by the same condition triggering again (flap protection).
    Column("auto_closed", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("tenant_id", "number"),
    Index(None, "tenant_id", "created_at", "id"),
    # A trigger with no open ticket looks up its key's last closed one (reopen window).
    Index(None, "tenant_id", "dedup_key", "closed_at"),
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
    _id(),
    _tenant_fk(),
    Column("ticket_id", Uuid, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False),
    Column("author_type", String(10), nullable=False),  # system | user
    Column("author_id", Uuid, nullable=True),
    Column("body", Text, nullable=False),
    _created(),
    Index(None, "tenant_id", "ticket_id", "created_at", "id"),
)

time_entry = Table(
    "time_entry",
    metadata,
    _id(),
    _tenant_fk(),
    Column("ticket_id", Uuid, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Uuid, ForeignKey("app_user.id", ondelete="SET NULL"), nullable=True),
    Column("minutes", Integer, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    _created(),
    Index(None, "tenant_id", "ticket_id", "created_at", "id"),
)

alert_rule = Table(
    "alert_rule",
    metadata,
    _id(),
    _tenant_fk(),
    Column("name", String(200), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("position", Integer, nullable=False),
    Column("conditions", JSONDoc, nullable=False),
    Column("actions", JSONDoc, nullable=False),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "position"),
    Index(None, "tenant_id", "created_at", "id"),
)

maintenance_window = Table(
    "maintenance_window",
    metadata,
    _id(),
    _tenant_fk(),
    Column("name", String(200), nullable=False),
    Column("integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=True),
    Column("client_id", Uuid, ForeignKey("client.id", ondelete="CASCADE"), nullable=True),
    Column("asset_id", Uuid, ForeignKey("asset.id", ondelete="CASCADE"), nullable=True),
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("recurrence", JSONDoc, nullable=True),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "created_at", "id"),
)

alert = Table(
    "alert",
    metadata,
    _id(),
    _tenant_fk(),
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
    _created(),
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
    Index(None, "ticket_id"),
)

# Resets and acknowledgements that were processed, so a replayed one is a no-op
# (a trigger's own row in `alert` plays that part for triggers).
alert_receipt = Table(
    "alert_receipt",
    metadata,
    _id(),
    _tenant_fk(),
    Column(
        "integration_id", Uuid, ForeignKey("integration.id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", String(20), nullable=False),
    Column("external_id", String(300), nullable=False),
    _created(),
    UniqueConstraint("integration_id", "kind", "external_id"),
)

notification = Table(
    "notification",
    metadata,
    _id(),
    _tenant_fk(),
    Column("user_id", Uuid, ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("title", String(500), nullable=False),
    Column("body", Text, nullable=False, server_default=""),
    Column("ref_type", String(50), nullable=True),
    Column("ref_id", Uuid, nullable=True),
    _created(),
    Column("read_at", UTCDateTime, nullable=True),
    Index(None, "tenant_id", "user_id", "created_at", "id"),
    # The unread badge on every dashboard page counts these, so they get their own.
    Index(
        "ix_notification_unread",
        "tenant_id",
        "user_id",
        sqlite_where=text("read_at IS NULL"),
        postgresql_where=text("read_at IS NULL"),
    ),
)

domain_event = Table(
    "domain_event",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _tenant_fk(),
    Column("type", String(100), nullable=False),
    Column("payload", JSONDoc, nullable=False),
    _created(),
    Column("published_at", UTCDateTime, nullable=True),
    Index(None, "published_at", "id"),
)

# What a user wants to hear about, per channel (in_app | email | chat). A user
# without a row for a channel gets its default (docs/notifications.md).
notification_preference = Table(
    "notification_preference",
    metadata,
    _tenant_fk(),
    Column("user_id", Uuid, ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(20), primary_key=True),
    # The notification kinds this channel carries for the user; [] = none.
    Column("events", JSONDoc, nullable=False),
    # Chat only: slack | teams | discord, and the webhook URL sealed like a secret.
    Column("chat_kind", String(20), nullable=True),
    Column("target", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

webhook_subscription = Table(
    "webhook_subscription",
    metadata,
    _id(),
    _tenant_fk(),
    Column("url", Text, nullable=False),
    Column("description", String(200), nullable=False, server_default=""),
    Column("events", JSONDoc, nullable=False),
    # Sealed (Fernet): signing needs the secret itself, not a hash.
    Column("secret", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "created_at", "id"),
)

# --- Outbox jobs: what a committed change still has to do outside the database --
# (provider resets and acknowledgements, e-mail and chat notifications, webhook
# deliveries). Written in the change's transaction, run after it commits, retried
# with backoff; a job's id is its stable delivery id.
job = Table(
    "job",
    metadata,
    _id(),
    _tenant_fk(),
    Column("kind", String(50), nullable=False),
    # What the job is about, for the logs people read (alert, notification, subscription).
    Column("ref_type", String(50), nullable=True),
    Column("ref_id", Uuid, nullable=True),
    # Enqueueing the same key twice is one job: a replayed change repeats no side effect.
    Column("key", String(300), nullable=True, unique=True),
    Column("payload", JSONDoc, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    # A claimed job is someone's until then; a worker killed mid-job loses it after.
    Column("lease_until", UTCDateTime, nullable=True),
    Column("give_up_at", UTCDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    _created(),
    Column("finished_at", UTCDateTime, nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "tenant_id", "ref_type", "ref_id", "created_at"),
)

# --- Reconciliation: one row per sync run of an integration ---------------------
sync_run = Table(
    "sync_run",
    metadata,
    _id(),
    _tenant_fk(),
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


# --- Agents, event-log watch rules and the timeline ----------------------------

enrollment_token = Table(
    "enrollment_token",
    metadata,
    _id(),
    _tenant_fk(),
    Column("site_id", Uuid, ForeignKey("site.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False, server_default=""),
    # Shown once; only its hash is kept, like API keys.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    _created(),
    Index(None, "tenant_id", "created_at", "id"),
)

agent = Table(
    "agent",
    metadata,
    _id(),
    _tenant_fk(),
    Column("site_id", Uuid, ForeignKey("site.id", ondelete="CASCADE"), nullable=False),
    Column("hostname", String(255), nullable=False),
    Column("os", String(100), nullable=False),
    Column("agent_version", String(50), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("config_version", Integer, nullable=False, server_default="0"),
    Column("last_seen_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "created_at", "id"),
)

eventlog_watch = Table(
    "eventlog_watch",
    metadata,
    _id(),
    _tenant_fk(),
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
    _created(),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "tenant_id", "created_at", "id"),
)

obs_event = Table(
    "obs_event",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _tenant_fk(),
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
)
