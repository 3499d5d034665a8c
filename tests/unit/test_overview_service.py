"""The overview service on a hand-written fake of its queries: the response times are
counted once per tenant for a while, everything else on every view."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from fleetward.domain.identity import Principal, Role
from fleetward.domain.overview import (
    AlertGroup,
    IntegrationHealth,
    Median,
    OverviewFigures,
    ResponseTimes,
)
from fleetward.services.overview import RESPONSE_TIMES_AGE, OverviewService

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class CountingQueries:
    def __init__(self) -> None:
        self.figure_reads: list[uuid.UUID] = []
        self.time_reads: list[uuid.UUID] = []

    def figures(
        self,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        now: datetime,
        zone: tzinfo,
        provider_call_kinds: Sequence[str],
    ) -> OverviewFigures:
        self.figure_reads.append(tenant_id)
        group = AlertGroup("active", "critical", None, len(self.figure_reads))
        return OverviewFigures(now, [group], {}, 0, 0, 0, [], [], [])

    def response_times(self, tenant_id: uuid.UUID, now: datetime) -> list[ResponseTimes]:
        self.time_reads.append(tenant_id)
        median = Median(float(len(self.time_reads)), 1)
        return [ResponseTimes(7, median, median, median)]

    def integrations(
        self, tenant_id: uuid.UUID, now: datetime, provider_call_kinds: Sequence[str]
    ) -> list[IntegrationHealth]:
        return []


class Ticking:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def reader(tenant_id: uuid.UUID, role: Role = Role.READONLY) -> Principal:
    return Principal(tenant_id, uuid.uuid4(), "x@y.test", role)


def test_response_times_are_counted_once_per_tenant_for_a_while_the_rest_every_view() -> None:
    queries, memory_clock = CountingQueries(), Ticking()
    service = OverviewService(queries, lambda: NOW, memory_clock)
    acme, globex = uuid.uuid4(), uuid.uuid4()

    first = service.figures(reader(acme), UTC)
    again = service.figures(reader(acme), UTC)
    theirs = service.figures(reader(globex), UTC)

    assert (first.unacknowledged_criticals, again.unacknowledged_criticals) == (1, 2)
    assert queries.time_reads == [acme, globex]
    assert again.response_times == first.response_times
    assert theirs.response_times[0].alert_acknowledge.seconds == 2.0
    memory_clock.now += RESPONSE_TIMES_AGE
    later = service.figures(reader(acme), UTC)
    assert queries.time_reads == [acme, globex, acme]
    assert later.response_times[0].alert_acknowledge.seconds == 3.0
