"""The table set, shared by SQLite and PostgreSQL.

Every row outside `tenant` carries tenant_id; every id is a random UUID.
Migrations under migrations/versions must produce exactly this schema
(a test compares them on both engines). The tables live in one module per area,
all on the one `metadata`; importing this package defines every one of them.
"""

from __future__ import annotations

from fleetward.adapters.storage.schema.agents import (
    agent,
    enrollment_token,
    eventlog_watch,
    obs_event,
)
from fleetward.adapters.storage.schema.base import JSONDoc, UTCDateTime, metadata
from fleetward.adapters.storage.schema.delivery import (
    domain_event,
    job,
    notification,
    notification_preference,
    webhook_subscription,
)
from fleetward.adapters.storage.schema.identity import (
    api_key,
    app_user,
    audit_log,
    client,
    login_throttle,
    site,
    tenant,
    user_session,
)
from fleetward.adapters.storage.schema.pipeline import (
    alert,
    alert_receipt,
    alert_rule,
    asset,
    board,
    dead_letter,
    flap_state,
    integration,
    maintenance_window,
    org_mapping,
    priority,
    sync_run,
    ticket,
    ticket_comment,
    ticket_status,
    time_entry,
)

__all__ = [
    "JSONDoc",
    "UTCDateTime",
    "agent",
    "alert",
    "alert_receipt",
    "alert_rule",
    "api_key",
    "app_user",
    "asset",
    "audit_log",
    "board",
    "client",
    "dead_letter",
    "domain_event",
    "enrollment_token",
    "eventlog_watch",
    "flap_state",
    "integration",
    "job",
    "login_throttle",
    "maintenance_window",
    "metadata",
    "notification",
    "notification_preference",
    "obs_event",
    "org_mapping",
    "priority",
    "site",
    "sync_run",
    "tenant",
    "ticket",
    "ticket_comment",
    "ticket_status",
    "time_entry",
    "user_session",
    "webhook_subscription",
]
