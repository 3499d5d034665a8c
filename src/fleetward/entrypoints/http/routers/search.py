"""/api/v1/search: the dashboard's search box as JSON."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from fleetward.domain.search import (
    COUNT_CAP,
    MAX_PER_KIND,
    MAX_QUERY,
    PER_KIND,
    Hit,
    SearchKind,
    dashboard_path,
    parse_kind,
)
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep

router = APIRouter(prefix="/api/v1/search", tags=["search"])

DESCRIPTION = f"""Tickets (by number, `1042` or `#1042`, and by title), alerts (by title and
device), devices (by name and external id), clients (by name) and agents (by hostname)
of the caller's tenant whose text holds `q`: case-insensitive, with `%` and `_` matched
literally; `q` is trimmed and must be 1 to {MAX_QUERY} characters (else 422 naming `q`).

Each kind gives its first `limit` hits (default {PER_KIND}, at most {MAX_PER_KIND}):
tickets and alerts newest first (the ticket `q` numbers first of all), the rest by
name; and how many match, counted up to {COUNT_CAP} (`more` is true past that).
`kind` (tickets, alerts, devices, clients, agents) asks for that kind alone.
`ticket` is the ticket numbered `q`, when there is one. Every hit names its page in
the dashboard (`url`)."""


class HitOut(BaseModel):
    id: uuid.UUID
    label: str
    detail: str
    at: datetime | None
    url: str


class KindOut(BaseModel):
    kind: SearchKind
    total: int
    more: bool
    items: list[HitOut]


class SearchOut(BaseModel):
    q: str
    ticket: HitOut | None
    kinds: list[KindOut]


def _hit(kind: SearchKind, hit: Hit) -> HitOut:
    return HitOut(
        id=hit.id,
        label=hit.label,
        detail=hit.detail,
        at=hit.at,
        url=dashboard_path(kind, hit.id),
    )


@router.get("", response_model=SearchOut, summary="Search", description=DESCRIPTION)
def search(
    c: ContainerDep, who: PrincipalDep, q: str = "", kind: str = "", limit: int = PER_KIND
) -> SearchOut:
    results = c.search.search(who, q, limit, parse_kind(kind))
    return SearchOut(
        q=results.query.text,
        ticket=_hit(SearchKind.TICKETS, results.ticket) if results.ticket else None,
        kinds=[
            KindOut(
                kind=found.kind,
                total=found.total,
                more=found.more,
                items=[_hit(found.kind, hit) for hit in found.items],
            )
            for found in results.kinds
        ],
    )
