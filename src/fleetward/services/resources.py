"""One shape for tenant-scoped CRUD: role check, audit entry, cross-tenant 404."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from fleetward.domain.audit import snapshot
from fleetward.domain.errors import NotFound
from fleetward.domain.identity import Access, Principal
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, Repositories, ScopedRows, UnitOfWork

T = TypeVar("T")


class ScopedResource(Generic[T]):
    """CRUD on one tenant-scoped kind of object.

    `scope` pins extra columns (a site's client_id, say): an object outside the
    scope is as missing as one in another tenant.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        probes: CrossTenantProbes,
        object_type: str,
        rows: Callable[[Repositories], ScopedRows[T]],
        write_access: Access = Access.WRITE,
        read_access: Access = Access.READ,
        document: Callable[[T], dict[str, Any]] = snapshot,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.probes = probes
        self.object_type = object_type
        self.rows = rows
        self.write_access = write_access
        self.read_access = read_access
        # How the audit log shows the object (JSON-ready, without secrets).
        self.document = document

    def missing(self, principal: Principal, object_id: uuid.UUID) -> NotFound:
        return self.probes.missing(principal, self.object_type, object_id, self.rows)

    def get(self, principal: Principal, object_id: uuid.UUID, **scope: Any) -> T:
        principal.require(self.read_access)
        with self.uow.read() as repos:
            found = self.rows(repos).get(principal.tenant_id, object_id, **scope)
        if found is None:
            raise self.missing(principal, object_id)
        return found

    def page(
        self, principal: Principal, limit: int | None, cursor: str | None, **scope: Any
    ) -> Page[T]:
        principal.require(self.read_access)
        with self.uow.read() as repos:
            return self.rows(repos).page(principal.tenant_id, clamp_limit(limit), cursor, **scope)

    def create(self, principal: Principal, obj: T) -> T:
        principal.require(self.write_access)
        with self.uow.write() as repos:
            self.rows(repos).insert(obj)
            record(
                repos,
                self.clock,
                principal.tenant_id,
                actor_of(principal),
                f"{self.object_type}.create",
                self.object_type,
                getattr(obj, "id", None),
                after=self.document(obj),
            )
        return obj

    def update(
        self, principal: Principal, object_id: uuid.UUID, changes: dict[str, Any], **scope: Any
    ) -> T:
        principal.require(self.write_access)
        with self.uow.write() as repos:
            rows = self.rows(repos)
            before = rows.get(principal.tenant_id, object_id, **scope)
            if before is not None:
                after = dataclasses.replace(before, **changes)  # type: ignore[type-var]
                if after != before:
                    if hasattr(after, "updated_at"):
                        changes = {**changes, "updated_at": self.clock()}
                        after = dataclasses.replace(after, updated_at=changes["updated_at"])  # type: ignore[type-var]
                    rows.update(principal.tenant_id, object_id, **changes)
                    record(
                        repos,
                        self.clock,
                        principal.tenant_id,
                        actor_of(principal),
                        f"{self.object_type}.update",
                        self.object_type,
                        object_id,
                        before=self.document(before),
                        after=self.document(after),
                    )
                return after
        raise self.missing(principal, object_id)

    def delete(self, principal: Principal, object_id: uuid.UUID, **scope: Any) -> None:
        principal.require(self.write_access)
        with self.uow.write() as repos:
            rows = self.rows(repos)
            before = rows.get(principal.tenant_id, object_id, **scope)
            if before is not None:
                rows.delete(principal.tenant_id, object_id)
                record(
                    repos,
                    self.clock,
                    principal.tenant_id,
                    actor_of(principal),
                    f"{self.object_type}.delete",
                    self.object_type,
                    object_id,
                    before=self.document(before),
                )
                return
        raise self.missing(principal, object_id)
