"""/api/v1/timeline: what happened on the machines, newest first."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from fleetward.domain.agents import TIMELINE_DEFAULT_SORT, TIMELINE_SORTS, StoredEvent
from fleetward.domain.listing import parse_sort
from fleetward.domain.pagination import Page as DomainPage
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import CursorQuery, Limit, SortQuery
from fleetward.entrypoints.http.schemas import Out, Page, Text


def _repeated(description: str) -> Any:
    # A few values each is what a person types; hundreds would only be a slow query.
    return Query(max_length=50, description=f"Repeatable: {description}")


class TimelineEventOut(Out):
    id: int
    pc_id: uuid.UUID
    at: datetime
    kind: str
    source: str
    event_record_id: str
    payload: dict[str, Any] | None
    received_at: datetime


router = APIRouter(prefix="/api/v1/timeline", tags=["timeline"])


@router.get("", response_model=Page[TimelineEventOut])
def query_timeline(
    c: ContainerDep,
    who: PrincipalDep,
    pc_id: Annotated[uuid.UUID | None, Query(description="An agent's id")] = None,
    kind: Annotated[list[Text] | None, _repeated("logon, boot, ...")] = None,
    source: Annotated[list[Text] | None, _repeated("winlog:System, ...")] = None,
    since: Annotated[datetime | None, Query(description="Inclusive, with a time zone")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive, with a time zone")] = None,
    payload: Annotated[
        list[Text] | None, _repeated("key:value, exact match on a top-level payload key")
    ] = None,
    sort: SortQuery = None,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> DomainPage[StoredEvent]:
    """Events of every machine of the tenant, or of one (`pc_id`); all filters must hold.
    Newest first; `sort=at` for oldest first."""
    order = parse_sort(sort, TIMELINE_SORTS, TIMELINE_DEFAULT_SORT)
    return c.timeline.query(
        who, pc_id, kind, source, since, until, payload, limit, cursor, sort=order
    )
