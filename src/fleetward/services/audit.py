"""Recording and reading the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fleetward.domain.audit import CROSS_TENANT_ACCESS, Actor, AuditEntry, changed_fields
from fleetward.domain.errors import NotFound
from fleetward.domain.identity import Access, Principal
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.services.ports import Clock, Repositories, ScopedRows, UnitOfWork


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


def not_found(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    object_type: str,
    object_id: uuid.UUID,
    rows: Callable[[Repositories], ScopedRows[Any]],
) -> NotFound:
    """The error for a missing object; an attempt on another tenant's is audited first.

    The answer is the same either way, so nobody learns which ids exist elsewhere.
    """
    with uow.read() as repos:
        owner = rows(repos).owner_of(object_id)
    if owner is not None and owner != principal.tenant_id:
        with uow.write() as repos:
            record(
                repos,
                clock,
                principal.tenant_id,
                actor_of(principal),
                CROSS_TENANT_ACCESS,
                object_type,
                object_id,
                after={"reason": "object belongs to another tenant"},
            )
    return NotFound(f"{object_type} {object_id} not found")


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
