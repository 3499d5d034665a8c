"""The shared pieces: FakeRows (a tenant-scoped table in a dict), tenants and users."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Generic, Protocol, TypeVar

from fleetward.domain.pagination import Page
from fleetward.domain.tenancy import Tenant, User


class _Row(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def tenant_id(self) -> uuid.UUID: ...


Row = TypeVar("Row", bound=_Row)


class ConfigCounter:
    """tenant.config_version, as the triggers of migration 0004 move it."""

    def __init__(self) -> None:
        self.version = 0

    def bump(self) -> None:
        self.version += 1


class FakeRows(Generic[Row]):
    """ScopedRows over a dict: tenant-scoped get, insert, update, delete, count, page."""

    def __init__(self, config: ConfigCounter | None = None) -> None:
        self.rows: dict[uuid.UUID, Row] = {}
        self._config = config  # set for configuration tables

    def _changed(self) -> None:
        if self._config is not None:
            self._config.bump()

    def _matches(self, row: Row, tenant_id: uuid.UUID, where: dict[str, Any]) -> bool:
        return row.tenant_id == tenant_id and all(getattr(row, k) == v for k, v in where.items())

    def of_tenant(self, tenant_id: uuid.UUID, **where: Any) -> list[Row]:
        return [row for row in self.rows.values() if self._matches(row, tenant_id, where)]

    def get(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **where: Any) -> Row | None:
        row = self.rows.get(object_id)
        return row if row is not None and self._matches(row, tenant_id, where) else None

    def owner_of(self, object_id: uuid.UUID) -> uuid.UUID | None:
        row = self.rows.get(object_id)
        return None if row is None else row.tenant_id

    def page(self, tenant_id: uuid.UUID, limit: int, cursor: str | None, **where: Any) -> Page[Row]:
        if cursor is not None:
            raise NotImplementedError("FakeRows pages only from the start")
        found = self.of_tenant(tenant_id, **where)
        return Page(found[:limit], "more" if len(found) > limit else None)

    def insert(self, obj: Row) -> Row:
        self.rows[obj.id] = obj
        self._changed()
        return obj

    def update(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **values: Any) -> None:
        row = self.get(tenant_id, object_id)
        if row is not None:
            self.rows[object_id] = dataclasses.replace(row, **values)  # type: ignore[type-var]
            self._changed()

    def delete(self, tenant_id: uuid.UUID, object_id: uuid.UUID) -> bool:
        if self.get(tenant_id, object_id) is None:
            return False
        del self.rows[object_id]
        self._changed()
        return True

    def count(self, tenant_id: uuid.UUID, **where: Any) -> int:
        return len(self.of_tenant(tenant_id, **where))


class FakeTenants:
    def __init__(self, config: ConfigCounter) -> None:
        self.rows: dict[uuid.UUID, Tenant] = {}
        self._config = config
        self.locks: list[uuid.UUID] = []  # tenants whose writers a transaction serialised
        self.documents: dict[uuid.UUID, dict[str, Any]] = {}  # tenant.settings

    def add(self, tenant: Tenant) -> Tenant:
        self.rows[tenant.id] = tenant
        return tenant

    def by_name(self, name: str) -> Tenant | None:
        return next((t for t in self.rows.values() if t.name == name), None)

    def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return self.rows.get(tenant_id)

    def config_version(self, tenant_id: uuid.UUID) -> int:
        return self._config.version

    def lock(self, tenant_id: uuid.UUID) -> None:
        self.locks.append(tenant_id)

    def settings(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        return dict(self.documents.get(tenant_id, {}))

    def save_settings(self, tenant_id: uuid.UUID, settings: dict[str, Any]) -> None:
        self.documents[tenant_id] = dict(settings)
        self._config.bump()


class FakeUsers(FakeRows[User]):
    def add(self, user: User, password_hash: str) -> User:
        return self.insert(user)

    def credentials(self, email: str) -> tuple[User, str] | None:
        raise NotImplementedError

    def by_id_any_tenant(self, user_id: uuid.UUID) -> User | None:
        return self.rows.get(user_id)

    def by_email_any_tenant(self, email: str) -> User | None:
        return next((u for u in self.rows.values() if u.email == email), None)


def not_faked(name: str) -> NotImplementedError:
    return NotImplementedError(f"tests/fakes has no fake of repos.{name} yet")
