"""/api/v1/audit-log: admins read the tenant's append-only, hash-chained log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from fleetward.domain.audit import AuditEntry
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import CursorQuery, FilterQuery, Limit
from fleetward.entrypoints.http.schemas import AuditEntryOut, Page

router = APIRouter(prefix="/api/v1/audit-log", tags=["audit"])


@router.get("", response_model=Page[AuditEntryOut])
def list_audit_log(
    c: ContainerDep,
    who: PrincipalDep,
    limit: Limit = None,
    cursor: CursorQuery = None,
    action: FilterQuery = None,
    object_id: FilterQuery = None,
) -> Page[AuditEntryOut]:
    """Newest first. Filter by `action` (e.g. client.update) or `object_id`."""
    page = c.audit.page(who, limit, cursor, action, object_id)
    items = [
        AuditEntryOut(id=row_id, hash=digest, **entry_fields(entry))
        for entry, row_id, digest in page.items
    ]
    return Page[AuditEntryOut](items=items, next=page.next)


def entry_fields(entry: AuditEntry) -> dict[str, Any]:
    fields = asdict(entry)
    fields.pop("tenant_id")
    return fields
