"""/api/v1/maintenance-windows: when alerts are suppressed instead of ticketed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from fleetward.domain.errors import InvalidInput
from fleetward.domain.maintenance import WeeklyRecurrence
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import StandardRoutes, page_of
from fleetward.entrypoints.http.schemas import In, Name, Out, Text
from fleetward.services.maintenance import weekly, window_document


def _utc(value: datetime) -> datetime:
    # Two days of room: comparing on any zone's wall clock must not overflow (a 500).
    try:
        value + timedelta(days=2)
        value - timedelta(days=2)
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must not be within two days of the calendar's ends") from None


def _hhmm(value: str) -> str:
    # ASCII digits only: int() would also take other scripts' digits and spaces.
    if not re.fullmatch(r"[0-9]{2}:[0-9]{2}", value):
        raise ValueError("must be a time of day as HH:MM")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
HourMinute = Annotated[str, Field(max_length=5), AfterValidator(_hhmm)]
ZoneName = Annotated[Text, Field(min_length=1, max_length=100)]
Day = Annotated[int, Field(ge=0, le=6, strict=True)]


class RecurrenceIn(In):
    type: Literal["weekly"]
    days: list[Day] = Field(max_length=7, description="0 = Sunday ... 6 = Saturday")
    start_time: HourMinute
    end_time: HourMinute = Field(
        description="Local time; at or before start_time, the window runs past midnight"
    )
    timezone: ZoneName = Field(description="An IANA name such as Europe/Berlin")


class WindowIn(In):
    """A one-off window needs starts_at and ends_at; a weekly one its recurrence
    (starts_at and ends_at then bound the weeks it applies in)."""

    name: Name
    integration_id: uuid.UUID | None = Field(None, description="Null: any integration")
    client_id: uuid.UUID | None = Field(None, description="Null: any client")
    asset_id: uuid.UUID | None = Field(None, description="Null: any device")
    starts_at: Instant | None = None
    ends_at: Instant | None = Field(None, description="Exclusive")
    recurrence: RecurrenceIn | None = None


class WindowPatch(In):
    """Fields given replace the stored ones; null clears a scope, a bound or the recurrence."""

    name: Name | None = None
    integration_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    recurrence: RecurrenceIn | None = None


class RecurrenceOut(BaseModel):
    type: Literal["weekly"]
    days: list[int]
    start_time: str
    end_time: str
    timezone: str


class WindowOut(Out):
    id: uuid.UUID
    name: str
    integration_id: uuid.UUID | None
    client_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    starts_at: datetime | None
    ends_at: datetime | None
    recurrence: RecurrenceOut | None


class ActiveOut(BaseModel):
    active: bool


router = APIRouter(prefix="/api/v1/maintenance-windows", tags=["maintenance windows"])


def _recurrence(body: RecurrenceIn | None) -> WeeklyRecurrence | None:
    if body is None:
        return None
    return weekly(body.days, body.start_time, body.end_time, body.timezone)


def _changes(body: WindowPatch) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field in body.model_fields_set:
        value = getattr(body, field)
        if field == "name" and value is None:
            raise InvalidInput("name must not be null", field="name")
        changes[field] = _recurrence(value) if field == "recurrence" else value
    return changes


windows = StandardRoutes[()](router, "/{window_id}", WindowOut, "window")
windows.list(
    lambda c, who, limit, cursor: page_of(c.maintenance.page(who, limit, cursor), window_document)
)


@router.post("", status_code=201, response_model=WindowOut)
def create_window(body: WindowIn, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    window = c.maintenance.create(
        who,
        body.name,
        integration_id=body.integration_id,
        client_id=body.client_id,
        asset_id=body.asset_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        recurrence=_recurrence(body.recurrence),
    )
    return window_document(window)


windows.get(lambda c, who, window_id: window_document(c.maintenance.get(who, window_id)))


@router.get("/{window_id}/active", response_model=ActiveOut)
def window_active(
    window_id: uuid.UUID,
    c: ContainerDep,
    who: PrincipalDep,
    at: Annotated[Instant | None, Query(description="ISO time with offset; default now")] = None,
) -> ActiveOut:
    """Whether the window covers that instant (its scope aside)."""
    return ActiveOut(active=c.maintenance.active(who, window_id, at))


windows.patch(
    WindowPatch,
    lambda c, who, window_id, body: window_document(
        c.maintenance.update(who, window_id, _changes(body))
    ),
)
windows.delete(lambda c, who, window_id: c.maintenance.delete(who, window_id))
