"""/api/v1/alerts: what the RMM tools reported and where the pipeline took it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from fleetward.domain.alerts import Alert, AlertFilter, AlertStatus, Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.pagination import Page as DomainPage
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import (
    CursorQuery,
    FilterQuery,
    Limit,
    out_model,
    page_model,
)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("must include a time zone offset, e.g. 2026-01-01T00:00:00Z")
    return value


AwareTime = Annotated[datetime | None, AfterValidator(_aware)]


# Every field of the stored alert but its tenant; the list leaves out the trace.
AlertOut = out_model("AlertOut", Alert, hidden=("tenant_id", "trace"))
AlertDetailOut = out_model("AlertDetailOut", Alert, hidden=("tenant_id",), base=AlertOut)


router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("", response_model=page_model(AlertOut))
def list_alerts(
    c: ContainerDep,
    who: PrincipalDep,
    status: Annotated[list[AlertStatus] | None, Query()] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    client_id: uuid.UUID | None = None,
    integration_id: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
    device: FilterQuery = None,
    since: Annotated[AwareTime, Query(description="occurred at or after (ISO 8601)")] = None,
    until: Annotated[AwareTime, Query(description="occurred before (ISO 8601)")] = None,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> DomainPage[Alert]:
    """Newest first. `status` and `severity` may repeat; `device` is an id or a name."""
    if since and until and until <= since:
        raise InvalidInput("until must be after since", field="until")
    where = AlertFilter(
        statuses=tuple(s.value for s in status or ()),
        severities=tuple(s.value for s in severity or ()),
        client_id=client_id,
        integration_id=integration_id,
        ticket_id=ticket_id,
        device=device,
        since=since,
        until=until,
    )
    return c.alerts.search(who, where, limit, cursor)


@router.get("/{alert_id}", response_model=AlertDetailOut)
def get_alert(alert_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Alert:
    """With `trace`: the windows and rules tried and why, what dedup did, the ticket."""
    return c.alerts.get(who, alert_id)
