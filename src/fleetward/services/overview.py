"""The overview: a tenant's open work and what is broken, for the person reading it.

The database counts (the OverviewQueries port); this use case checks the reader
may read, and says whose tickets are "mine", which calendar the charts' days
follow and which outbox jobs are calls to a provider.
"""

from __future__ import annotations

from datetime import tzinfo

from fleetward.domain.identity import Access, Principal
from fleetward.domain.overview import IntegrationHealth, OverviewFigures
from fleetward.services.ports import Clock, OverviewQueries
from fleetward.services.provider_outbound import ACKNOWLEDGE, RESET

PROVIDER_CALL_KINDS = (RESET, ACKNOWLEDGE)


class OverviewService:
    def __init__(self, queries: OverviewQueries, clock: Clock) -> None:
        self.queries = queries
        self.clock = clock

    def figures(self, principal: Principal, zone: tzinfo) -> OverviewFigures:
        """Every figure of the overview; the charts' days are days in `zone`."""
        principal.require(Access.READ)
        return self.queries.figures(
            principal.tenant_id, principal.user_id, self.clock(), zone, PROVIDER_CALL_KINDS
        )

    def integration_health(self, principal: Principal, state: str) -> list[IntegrationHealth]:
        """The integrations the overview counts as `state` ("failing" or "silent"),
        for the integrations list's filter of the same name."""
        principal.require(Access.READ)
        now = self.clock()
        found = self.queries.integrations(principal.tenant_id, now, PROVIDER_CALL_KINDS)
        if state == "failing":
            return [i for i in found if i.failing]
        return [i for i in found if i.silent(now)]
