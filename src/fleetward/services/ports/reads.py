"""The dashboard's reads across kinds: the overview's figures and the global search."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Protocol

from fleetward.domain.overview import IntegrationHealth, OverviewFigures, ResponseTimes
from fleetward.domain.search import Hit, KindHits, SearchQuery


class OverviewQueries(Protocol):
    """The overview's figures for one tenant, counted by the database in one read
    snapshot (adapters/storage/overview_queries.py; their meaning: domain/overview.py).
    `user_id` is the reader (their tickets); `zone` their calendar (the charts' days);
    `provider_call_kinds` the outbox job kinds that call an alert's provider."""

    def figures(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        now: datetime,
        zone: tzinfo,
        provider_call_kinds: Sequence[str],
    ) -> OverviewFigures:
        """Every figure but the response times."""
        ...

    def response_times(self, tenant_id: uuid.UUID, now: datetime) -> list[ResponseTimes]:
        """Median times to acknowledge and resolve, one per RESPONSE_WINDOWS."""
        ...

    def integrations(
        self, tenant_id: uuid.UUID, now: datetime, provider_call_kinds: Sequence[str]
    ) -> list[IntegrationHealth]:
        """Only the integrations' health (the integrations list's filter)."""
        ...


class SearchQueries(Protocol):
    """The global search (domain/search.py): one kind's hits for one tenant, at most
    `limit`, with their count up to COUNT_CAP."""

    def tickets(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...
    def ticket_by_number(self, tenant_id: uuid.UUID, number: int) -> Hit | None: ...
    def alerts(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...
    def devices(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...
    def clients(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...
    def agents(self, tenant_id: uuid.UUID, query: SearchQuery, limit: int) -> KindHits: ...
