"""/api/v1/event-log-watches: which Windows events agents turn into alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from fleetward.domain.alerts import Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import EventLogWatch, MinLevel, ScopeType, WatchScope
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import StandardRoutes, page_of
from fleetward.entrypoints.http.schemas import In, Name, Out, Text
from fleetward.services.watches import watch_document

LogName = Annotated[Text, Field(max_length=200)]
Word = Annotated[Text, Field(min_length=1, max_length=200)]
# Strict: "4625", 4625.0 and true are not event ids. The range is the domain's check.
EventId = Annotated[int, Field(strict=True)]


class ScopeIn(In):
    type: ScopeType
    id: uuid.UUID | None = Field(None, description="The client, site or agent; absent for tenant")


class WatchIn(In):
    name: Name
    scope: ScopeIn
    log_name: LogName = Field(description="The channel: System, Security, Application ...")
    event_ids: list[EventId] = Field([], max_length=500, description="Empty: any id")
    providers: list[Word] = Field([], max_length=100, description="Empty: any provider")
    min_level: MinLevel = MinLevel.VERBOSE
    keywords: list[Word] = Field([], max_length=100, description="Any one, case-insensitive")
    alert_severity: Severity = Severity.MODERATE
    enabled: bool = True


class WatchPatch(In):
    """Fields given replace the stored ones; none may be null."""

    name: Name | None = None
    scope: ScopeIn | None = None
    log_name: LogName | None = None
    event_ids: list[EventId] | None = Field(None, max_length=500)
    providers: list[Word] | None = Field(None, max_length=100)
    min_level: MinLevel | None = None
    keywords: list[Word] | None = Field(None, max_length=100)
    alert_severity: Severity | None = None
    enabled: bool | None = None


class ScopeOut(BaseModel):
    type: ScopeType
    id: uuid.UUID | None


class WatchOut(Out):
    id: uuid.UUID
    name: str
    scope: ScopeOut
    log_name: str
    event_ids: list[int]
    providers: list[str]
    min_level: MinLevel
    keywords: list[str]
    alert_severity: Severity
    enabled: bool
    created_at: datetime
    updated_at: datetime


router = APIRouter(prefix="/api/v1/event-log-watches", tags=["event-log watches"])


def _scope(body: ScopeIn) -> WatchScope:
    return WatchScope(body.type, body.id)


def _out(watch: EventLogWatch) -> dict[str, Any]:
    return {
        **watch_document(watch),
        "created_at": watch.created_at,
        "updated_at": watch.updated_at,
    }


def _changes(body: WatchPatch) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field in body.model_fields_set:
        value = getattr(body, field)
        if value is None:
            raise InvalidInput(f"{field} must not be null", field=field)
        changes[field] = _scope(value) if field == "scope" else value
    return changes


watches = StandardRoutes[()](router, "/{watch_id}", WatchOut, "watch", "watches")
watches.list(lambda c, who, limit, cursor: page_of(c.watches.page(who, limit, cursor), _out))


@router.post("", status_code=201, response_model=WatchOut)
def create_watch(body: WatchIn, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """Every agent the rule applies to gets the new configuration."""
    rule = body.model_dump(exclude={"scope"})
    return _out(c.watches.create(who, _scope(body.scope), rule))


watches.get(lambda c, who, watch_id: _out(c.watches.get(who, watch_id)))
watches.patch(
    WatchPatch,
    lambda c, who, watch_id, body: _out(c.watches.update(who, watch_id, _changes(body))),
    doc="Agents under the old scope and the new one get the new configuration.",
)
watches.delete(lambda c, who, watch_id: c.watches.delete(who, watch_id))
