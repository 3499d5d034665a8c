"""The overview: a tenant's open work and what is broken, for the person reading it.

The database counts (the OverviewQueries port); this use case checks the reader
may read, and says whose tickets are "mine", which calendar the charts' days
follow and which outbox jobs are calls to a provider.

The response times are medians over 7 and 30 days of alerts and tickets, the
costliest figures to count and the slowest to move: they are kept per tenant
for RESPONSE_TIMES_AGE, so an overview refreshing itself every 30 seconds, open
on every desk, counts them once in that time. Everything else is counted on
every view.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from datetime import tzinfo

from fleetward.domain.identity import Access, Principal
from fleetward.domain.overview import IntegrationHealth, OverviewFigures, ResponseTimes
from fleetward.services.memory import Memory
from fleetward.services.ports import Clock, OverviewQueries
from fleetward.services.provider_outbound import ACKNOWLEDGE, RESET

PROVIDER_CALL_KINDS = (RESET, ACKNOWLEDGE)
RESPONSE_TIMES_AGE = 300.0  # seconds
RESPONSE_TIMES_TENANTS = 1_000  # tenants whose response times are kept


class OverviewService:
    def __init__(
        self,
        queries: OverviewQueries,
        clock: Clock,
        memory_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queries = queries
        self.clock = clock
        self.response_times: Memory[uuid.UUID, list[ResponseTimes]] = Memory(
            RESPONSE_TIMES_TENANTS, RESPONSE_TIMES_AGE, memory_clock
        )

    def figures(self, principal: Principal, zone: tzinfo) -> OverviewFigures:
        """Every figure of the overview; the charts' days are days in `zone`."""
        principal.require(Access.READ)
        tenant_id, now = principal.tenant_id, self.clock()
        figures = self.queries.figures(tenant_id, principal.user_id, now, zone, PROVIDER_CALL_KINDS)
        times = self.response_times.get(tenant_id)
        if times is None:
            read_at = self.response_times.now()
            times = self.queries.response_times(tenant_id, now)
            self.response_times.put(tenant_id, times, read_at=read_at)
        return dataclasses.replace(figures, response_times=times)

    def integration_health(self, principal: Principal, state: str) -> list[IntegrationHealth]:
        """The integrations the overview counts as `state` ("failing" or "silent"),
        for the integrations list's filter of the same name."""
        principal.require(Access.READ)
        now = self.clock()
        found = self.queries.integrations(principal.tenant_id, now, PROVIDER_CALL_KINDS)
        if state == "failing":
            return [i for i in found if i.failing]
        return [i for i in found if i.silent(now)]
