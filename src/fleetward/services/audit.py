"""Recording and reading the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from fleetward.domain.audit import Actor, AuditEntry, changed_fields
from fleetward.domain.identity import Access, Principal
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.services.ports import Clock, Repositories, UnitOfWork


def actor_of(principal: Principal) -> Actor:
    if principal.api_key_id is not None:
        return Actor("api_key", principal.api_key_id, principal.label)
    return Actor("user", principal.user_id, principal.label)


def record(
    repos: Repositories,
    clock: Clock,
    tenant_id: uuid.UUID,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction, so it commits with the change."""
    before, after = changed_fields(before, after)
    repos.audit.append(
        AuditEntry(
            tenant_id=tenant_id,
            seq=0,
            at=clock(),
            actor_type=actor.type,
            actor_id=actor.id,
            actor_label=actor.label,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            before=before,
            after=after,
            prev_hash="",
        )
    )


class AuditService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def page(
        self,
        principal: Principal,
        limit: int | None,
        cursor: str | None,
        action: str | None = None,
        object_id: str | None = None,
    ) -> Page[tuple[AuditEntry, uuid.UUID, str]]:
        principal.require(Access.ADMIN)
        with self.uow.read() as repos:
            return repos.audit.page(
                principal.tenant_id, clamp_limit(limit), cursor, action, object_id
            )
