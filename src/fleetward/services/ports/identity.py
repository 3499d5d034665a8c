"""Tenants, their users, clients and keys, sessions, the login throttle, the audit log
(adapters/storage/repositories.py) and the password hasher."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from fleetward.domain.audit import AuditEntry
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page
from fleetward.domain.tenancy import ApiKey, Client, Tenant, User
from fleetward.services.ports.base import ScopedRows


class Clients(ScopedRows[Client], Protocol):
    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        name_contains: str | None = None,
    ) -> Page[Client]: ...


class Tenants(Protocol):
    def add(self, tenant: Tenant) -> Tenant: ...
    def by_name(self, name: str) -> Tenant | None: ...
    def get(self, tenant_id: uuid.UUID) -> Tenant | None: ...
    def config_version(self, tenant_id: uuid.UUID) -> int:
        """The counter the pipeline's config tables bump on every change (0 if unknown)."""
        ...

    def lock(self, tenant_id: uuid.UUID) -> None:
        """Serialise this tenant's writers until the transaction ends."""
        ...

    def settings(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        """The tenant's settings document ({} when none are set)."""
        ...

    def save_settings(self, tenant_id: uuid.UUID, settings: dict[str, Any]) -> None:
        """Replace the settings document, moving config_version with it."""
        ...


class Users(ScopedRows[User], Protocol):
    def add(self, user: User, password_hash: str) -> User: ...
    def credentials(self, email: str) -> tuple[User, str] | None: ...
    def by_id_any_tenant(self, user_id: uuid.UUID) -> User | None: ...
    def by_email_any_tenant(self, email: str) -> User | None: ...


class ApiKeys(ScopedRows[ApiKey], Protocol):
    def add(self, key: ApiKey, key_hash: str) -> ApiKey: ...
    def by_hash(self, key_hash: str) -> ApiKey | None: ...


class SessionRecord(Protocol):
    @property
    def tenant_id(self) -> uuid.UUID: ...
    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def csrf_token(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...


class Sessions(Protocol):
    def add(self, session: Any, token_hash: str) -> None: ...
    def by_hash(self, token_hash: str) -> SessionRecord | None: ...
    def remove(self, token_hash: str) -> None: ...
    def remove_expired(self, now: datetime) -> int: ...


class LoginThrottle(Protocol):
    def take(self, subject: str, limit: int, now: datetime, expired: datetime) -> datetime | None:
        """Count one attempt against `subject` unless `limit` are counted in its window
        (a window that started at or before `expired` starts again at `now`): the start
        of the window it was counted in, or None at the limit. Atomic against
        concurrent takes."""
        ...

    def give_back(self, subject: str, window_start: datetime) -> None:
        """Uncount an attempt taken in that window (none if the window has moved on)."""
        ...

    def forget_expired(self, expired: datetime, at_most: int) -> None:
        """Delete up to `at_most` counters whose window started at or before `expired`,
        skipping any another transaction holds (so it never waits on a login)."""
        ...


class AuditLog(Protocol):
    def append(self, draft: AuditEntry) -> AuditEntry: ...
    def page(
        self,
        tenant_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        action: str | None = None,
        object_id: str | None = None,
    ) -> Page[tuple[AuditEntry, uuid.UUID, str]]: ...
    def of_object(
        self, tenant_id: uuid.UUID, object_type: str, object_id: str, limit: int
    ) -> list[AuditEntry]: ...
    def chain(self, tenant_id: uuid.UUID) -> list[tuple[AuditEntry, str]]: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str | None, password: str) -> bool: ...
