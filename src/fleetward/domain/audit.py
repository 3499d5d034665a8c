"""Audit entries form a hash chain per tenant, so a changed or removed entry shows."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64

# Actions that are not changes but must be seen by an admin.
CROSS_TENANT_ACCESS = "security.cross_tenant_access"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    tenant_id: uuid.UUID
    seq: int
    at: datetime
    actor_type: str  # user | api_key | system
    actor_id: uuid.UUID | None
    actor_label: str
    action: str  # e.g. client.create
    object_type: str
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: the same bytes on every machine."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def entry_hash(entry: AuditEntry) -> str:
    body = {
        "tenant_id": str(entry.tenant_id),
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_type": entry.actor_type,
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def verify_chain(entries: list[tuple[AuditEntry, str]]) -> int | None:
    """Given entries in seq order with their stored hashes, return the first broken seq."""
    expected_prev = GENESIS_HASH
    for entry, stored in entries:
        if entry.prev_hash != expected_prev or entry_hash(entry) != stored:
            return entry.seq
        expected_prev = stored
    return None


def changed_fields(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Keep only what changed on an update, so the log reads as a diff."""
    if before is None or after is None:
        return before, after
    keys = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    return {k: before.get(k) for k in sorted(keys)}, {k: after.get(k) for k in sorted(keys)}


@dataclass(frozen=True, slots=True)
class Actor:
    type: str  # user | api_key | system
    id: uuid.UUID | None
    label: str


SYSTEM_CLI = Actor("system", None, "cli")


def snapshot(obj: Any, hide: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A JSON-ready copy of a dataclass for before/after, without secrets."""
    out: dict[str, Any] = {}
    for key, value in asdict(obj).items():
        if key in hide:
            continue
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, uuid.UUID):
            out[key] = str(value)
        elif hasattr(value, "value"):
            out[key] = value.value
        else:
            out[key] = value
    return out
