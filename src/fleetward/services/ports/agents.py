"""Agents and the timeline (adapters/storage/agent_repositories.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from fleetward.domain.agents import Agent, EnrollmentToken, StoredEvent, TimelineFilter
from fleetward.domain.eventlog import EventLogWatch, WatchScope
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page
from fleetward.services.ports.base import ScopedRows


class EnrollmentTokens(ScopedRows[EnrollmentToken], Protocol):
    def add(self, token: EnrollmentToken, token_hash: str) -> EnrollmentToken: ...
    def by_hash(self, token_hash: str) -> EnrollmentToken | None: ...


class Agents(ScopedRows[Agent], Protocol):
    def add(self, agent: Agent, key_hash: str) -> Agent: ...
    def by_hash(self, key_hash: str) -> Agent | None: ...
    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        state: str | None,
        online_since: datetime,
        client_id: uuid.UUID | None = None,
    ) -> Page[Agent]: ...
    def state_counts(
        self, tenant_id: uuid.UUID, online_since: datetime, client_id: uuid.UUID | None = None
    ) -> dict[str, int]: ...


class Watches(ScopedRows[EventLogWatch], Protocol):
    def save(self, watch: EventLogWatch, at: datetime, created: bool) -> None: ...
    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        enabled: bool | None = None,
    ) -> Page[EventLogWatch]: ...
    def for_agent(self, agent: Agent) -> list[EventLogWatch]: ...
    def bump_config_versions(self, tenant_id: uuid.UUID, scopes: Sequence[WatchScope]) -> int:
        """Move the config version of the agents these scopes cover; how many moved."""
        ...


class Timeline(Protocol):
    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> int: ...
    def search(
        self,
        tenant_id: uuid.UUID,
        where: TimelineFilter,
        limit: int,
        cursor: str | None,
        sort: Sort = ...,
        count_up_to: int = 0,
    ) -> Page[StoredEvent]: ...

    def delete_before(self, cutoff: datetime) -> int: ...
