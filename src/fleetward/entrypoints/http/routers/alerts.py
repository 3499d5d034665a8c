"""/api/v1/alerts: what the RMM tools reported and where the pipeline took it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AfterValidator, Field

from fleetward.domain.alerts import (
    ALERT_DEFAULT_SORT,
    ALERT_SORTS,
    Alert,
    AlertFilter,
    AlertStatus,
    Severity,
)
from fleetward.domain.errors import InvalidInput
from fleetward.domain.jobs import Job
from fleetward.domain.listing import parse_sort
from fleetward.domain.pagination import Page as DomainPage
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import (
    CursorQuery,
    FilterQuery,
    Limit,
    SortQuery,
    out_model,
    page_model,
)
from fleetward.entrypoints.http.schemas import In, Out, Page
from fleetward.services.alert_actions import BULK_MAX


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("must include a time zone offset, e.g. 2026-01-01T00:00:00Z")
    return value


AwareTime = Annotated[datetime | None, AfterValidator(_aware)]


# Every field of the stored alert but its tenant; the list leaves out the trace.
AlertOut = out_model("AlertOut", Alert, hidden=("tenant_id", "trace"))
AlertDetailOut = out_model("AlertDetailOut", Alert, hidden=("tenant_id",), base=AlertOut)


class BulkIn(In):
    alert_ids: list[uuid.UUID] = Field(min_length=1, max_length=BULK_MAX)
    action: Literal["acknowledge", "resolve", "ticket"]


class BulkItemOut(Out):
    alert_id: uuid.UUID
    result: str = Field(
        description="acknowledged, resolved or ticketed (changed), unchanged (done already), "
        "not_found, or conflict (e.g. acknowledging a resolved alert; see message)"
    )
    status: AlertStatus | None
    message: str | None


class BulkOut(Out):
    items: list[BulkItemOut]


class OutboundJobOut(Out):
    """A call to the alert's provider (reset, acknowledge) and how its attempts went."""

    id: uuid.UUID
    kind: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    finished_at: datetime | None


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
    unmapped: Annotated[
        bool, Query(description="only alerts recorded without a client (see /triage)")
    ] = False,
    sort: SortQuery = None,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> DomainPage[Alert]:
    """Newest arrival first unless `sort` says otherwise (`occurred_at`, `created_at`,
    `severity`, `status`, `title` or `device`, `-` before it for descending); `total`
    counts every match. `status` and `severity` may repeat; `device` is an id or a name."""
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
        unmapped=unmapped,
    )
    order = parse_sort(sort, ALERT_SORTS, ALERT_DEFAULT_SORT)
    return c.alerts.search(who, where, limit, cursor, order)


@router.get("/triage", response_model=page_model(AlertOut))
def triage(
    c: ContainerDep,
    who: PrincipalDep,
    integration_id: uuid.UUID | None = None,
    external_org_id: FilterQuery = None,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> DomainPage[Alert]:
    """Open alerts recorded without a client: their organisation has no mapping and
    their integration no default client. Map the organisation, then reprocess them
    (`POST /api/v1/integrations/{id}/mappings/{mapping_id}/reprocess`). Newest first."""
    return c.alert_actions.triage(who, integration_id, external_org_id, limit, cursor)


@router.post("/bulk", response_model=BulkOut)
def bulk(body: BulkIn, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """Acknowledge, resolve or open a ticket for (`ticket`: the open ticket of the
    alert's condition, else a new one) up to 500 alerts in one transaction, each
    answered on its own; an id the tenant does not hold is `not_found`, an alert with
    a ticket already or without a client is `conflict`."""
    return {"items": c.alert_actions.bulk(who, body.alert_ids, body.action)}


@router.get("/{alert_id}", response_model=AlertDetailOut)
def get_alert(alert_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Alert:
    """With `trace`: the windows and rules tried and why, what dedup did, the ticket,
    and `outbound`: each call to the provider (reset, acknowledge) and its result."""
    return c.alerts.get(who, alert_id)


@router.post("/{alert_id}/acknowledge", response_model=AlertDetailOut)
def acknowledge(alert_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Alert:
    """Active -> acknowledged, once (again: unchanged); also at the provider where it
    has an API and acknowledgements (after the commit; see /outbound). 409 when the
    alert is resolved or suppressed."""
    return c.alert_actions.acknowledge(who, alert_id)


@router.post("/{alert_id}/resolve", response_model=AlertDetailOut)
def resolve(alert_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Alert:
    """Resolved by a person, with a comment on its open ticket. Not reset at the
    provider: closing the ticket does that (docs/pipeline.md)."""
    return c.alert_actions.resolve(who, alert_id)


@router.post("/{alert_id}/ticket", response_model=AlertDetailOut)
def open_ticket(alert_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Alert:
    """Open a ticket for an alert that has none, as its trigger would have (rule or
    board defaults; the open ticket of the same client, device and condition is
    re-triggered instead). 409 when it has a ticket, or no client."""
    return c.alert_actions.open_ticket(who, alert_id)


@router.get("/{alert_id}/outbound", response_model=Page[OutboundJobOut])
def outbound(alert_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """The calls to the alert's provider, newest first (the latest 50)."""
    jobs: list[Job] = c.alert_actions.outbound(who, alert_id)
    return {"items": jobs, "next": None}


assets = APIRouter(prefix="/api/v1/assets", tags=["alerts"])


@assets.get("/{asset_id}/alerts", response_model=page_model(AlertOut))
def asset_alerts(
    asset_id: uuid.UUID,
    c: ContainerDep,
    who: PrincipalDep,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> DomainPage[Alert]:
    """One device's alert history, newest first (assets: /integrations/{id}/assets)."""
    return c.alert_actions.asset_history(who, asset_id, limit, cursor)
