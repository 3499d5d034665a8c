"""Reading alerts, with the decision trace each one keeps."""

from __future__ import annotations

import uuid

from fleetward.domain.alerts import ALERT_DEFAULT_SORT, Alert, AlertFilter
from fleetward.domain.identity import Principal
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, UnitOfWork
from fleetward.services.resources import ScopedResource


class AlertService:
    def __init__(self, uow: UnitOfWork, clock: Clock, probes: CrossTenantProbes) -> None:
        self.uow = uow
        self.alerts = ScopedResource[Alert](uow, clock, probes, "alert", lambda r: r.alerts)

    def search(
        self,
        principal: Principal,
        where: AlertFilter,
        limit: int | None,
        cursor: str | None,
        sort: Sort = ALERT_DEFAULT_SORT,
    ) -> Page[Alert]:
        """One page in `sort` order, with the total the filters admit."""
        principal.require(self.alerts.read_access)
        with self.uow.read() as repos:
            return repos.alerts.search(
                principal.tenant_id, where, clamp_limit(limit), cursor, sort, count=True
            )

    def get(self, principal: Principal, alert_id: uuid.UUID) -> Alert:
        return self.alerts.get(principal, alert_id)
