"""The global search: tickets, alerts, devices, clients and agents of the caller's tenant."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fleetward.domain.identity import Access, Principal
from fleetward.domain.search import (
    MAX_PER_KIND,
    PER_KIND,
    KindHits,
    SearchKind,
    SearchQuery,
    SearchResults,
    parse_query,
)
from fleetward.services.ports import SearchQueries, UnitOfWork

Finder = Callable[[SearchQueries], Callable[[uuid.UUID, SearchQuery, int], KindHits]]
# In the order the page shows them: what a technician looks up most comes first.
FINDERS: dict[SearchKind, Finder] = {
    SearchKind.TICKETS: lambda q: q.tickets,
    SearchKind.ALERTS: lambda q: q.alerts,
    SearchKind.DEVICES: lambda q: q.devices,
    SearchKind.CLIENTS: lambda q: q.clients,
    SearchKind.AGENTS: lambda q: q.agents,
}


class SearchService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def search(
        self,
        principal: Principal,
        raw_query: str,
        per_kind: int = PER_KIND,
        kind: SearchKind | None = None,
    ) -> SearchResults:
        """Every kind's first `per_kind` hits (or one kind's), each with its count, and
        the ticket the query numbers ("1042", "#1042") when it exists. Any role may
        search; every query is the caller's tenant's."""
        principal.require(Access.READ)
        query = parse_query(raw_query)
        limit = max(1, min(per_kind, MAX_PER_KIND))
        tenant_id = principal.tenant_id
        kinds = [kind] if kind is not None else list(FINDERS)
        with self.uow.read() as repos:
            found = repos.search
            results = [FINDERS[k](found)(tenant_id, query, limit) for k in kinds]
            ticket = (
                found.ticket_by_number(tenant_id, query.ticket_number)
                if query.ticket_number is not None
                else None
            )
        return SearchResults(query, results, ticket)
