"""What a change tells and still has to do: notifications, domain events,
webhook subscriptions and outbox jobs.
"""

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

notification = Table(
    "notification",
    metadata,
    id_column(),
    tenant_fk(),
    Column("user_id", Uuid, ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("title", String(500), nullable=False),
    Column("body", Text, nullable=False, server_default=""),
    Column("ref_type", String(50), nullable=True),
    Column("ref_id", Uuid, nullable=True),
    created_column(),
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
    tenant_fk(),
    Column("type", String(100), nullable=False),
    Column("payload", JSONDoc, nullable=False),
    created_column(),
    Column("published_at", UTCDateTime, nullable=True),
    Index(None, "published_at", "id"),
)

# What a user wants to hear about, per channel (in_app | email | chat). A user
# without a row for a channel gets its default (docs/notifications.md).
notification_preference = Table(
    "notification_preference",
    metadata,
    tenant_fk(),
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
    id_column(),
    tenant_fk(),
    Column("url", Text, nullable=False),
    Column("description", String(200), nullable=False, server_default=""),
    Column("events", JSONDoc, nullable=False),
    # Sealed (Fernet): signing needs the secret itself, not a hash.
    Column("secret", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    created_column(),
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
    id_column(),
    tenant_fk(),
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
    created_column(),
    Column("finished_at", UTCDateTime, nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "tenant_id", "ref_type", "ref_id", "created_at"),
)
