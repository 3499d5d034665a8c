"""The shapes every port shares: the clock, and one tenant's rows of a kind."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from fleetward.domain.pagination import Page

T = TypeVar("T")


Clock = Callable[[], datetime]


class ScopedRows(Protocol[T]):
    def get(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **where: Any) -> T | None: ...
    def owner_of(self, object_id: uuid.UUID) -> uuid.UUID | None: ...
    def page(
        self, tenant_id: uuid.UUID, limit: int, cursor: str | None, **where: Any
    ) -> Page[T]: ...
    def insert(self, obj: T) -> T: ...
    def update(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **values: Any) -> None: ...
    def delete(self, tenant_id: uuid.UUID, object_id: uuid.UUID) -> bool: ...
    def count(self, tenant_id: uuid.UUID, **where: Any) -> int: ...
