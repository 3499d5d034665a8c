"""The timeline pages: one agent's tab, and the tenant's at /timeline with an agent chooser.

Filter chips are links that toggle one value in the query string, which takes
kind and source repeated as the API does; the list pages "older" by the
service's keyset cursor. With an agent chosen, swimlanes (power, sessions,
sleep) show the chosen range, or the last 24 hours, up to now.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.agents import TIMELINE_DEFAULT_SORT, TIMELINE_SORTS, StoredEvent
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Principal
from fleetward.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from fleetward.domain.timeline import KNOWN_KINDS, TimelineKind
from fleetward.domain.timeline_lanes import LANE_KINDS, POWER_OFF, POWER_ON, build_lanes
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import fleet, lookups, swimlanes
from fleetward.entrypoints.http.pages.agents import agent_context
from fleetward.entrypoints.http.pages.common import PageRoute, SessionDep, reader_zone, render
from fleetward.entrypoints.http.pages.listing import FilterValue, ListView, list_params
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)

EVENTS_PER_PAGE = DEFAULT_LIMIT
# A timeline may hold millions of events: the list counts up to this many, then
# says "more than".
COUNT_CAP = 10_000
DEFAULT_RANGE = timedelta(hours=24)
RANGES = (
    ("24 h", timedelta(hours=24)),
    ("7 days", timedelta(days=7)),
    ("30 days", timedelta(days=30)),
)
# The lanes read at most this many events of a range (newest first); more is
# a range too long to draw meaningfully, and the page says so.
LANE_EVENT_CAP = 10 * MAX_LIMIT
Repeated = Annotated[list[str] | None, Query(max_length=50)]


@dataclass(frozen=True, slots=True)
class Chip:
    label: str
    on: bool
    url: str


@dataclass(frozen=True, slots=True)
class Filters:
    kinds: list[str]
    sources: list[str]
    since: str  # datetime-local, on the reader's clock
    until: str

    def params(self, **override: Any) -> list[tuple[str, str]]:
        values = {
            "kind": self.kinds,
            "source": self.sources,
            "since": self.since,
            "until": self.until,
            **override,
        }
        pairs: list[tuple[str, str]] = []
        for key, value in values.items():
            if isinstance(value, list):
                pairs.extend((key, v) for v in value)
            elif value:
                pairs.append((key, value))
        return pairs


def _url(base: str, pairs: list[tuple[str, str]]) -> str:
    return base + (f"?{urlencode(pairs)}" if pairs else "")


def _toggled(values: list[str], value: str) -> list[str]:
    return [v for v in values if v != value] if value in values else [*values, value]


def kind_class(kind: str) -> str:
    """The badge's class: its own colour for a known kind, a neutral one for any other."""
    return f"kind-{kind}" if kind in KNOWN_KINDS else "kind-other"


def summary(event: StoredEvent) -> str:
    """One line saying what the event was about, from the payload fields people look for."""
    p = event.payload or {}
    parts: list[str] = []
    if event.kind in ("logon", "logoff"):
        user = p.get("user") or p.get("user_sid")
        if user:
            domain = p.get("domain")
            parts.append(f"{domain}\\{user}" if domain and domain != "-" else str(user))
        if p.get("logon_type") is not None:
            parts.append(f"logon type {p['logon_type']}")
        if p.get("ip_address"):
            parts.append(f"from {p['ip_address']}")
    for key in ("message", "code", "agent_version", "kernel"):
        if p.get(key):
            parts.append(str(p[key]))
    if p.get("provider") and p.get("event_id") is not None:
        parts.append(f"{p['provider']} {p['event_id']}")
    return " · ".join(dict.fromkeys(parts))


def _lanes(
    c: Container,
    who: Principal,
    pc_id: uuid.UUID,
    start: datetime,
    until: datetime,
    now: datetime,
    zone: ZoneInfo,
) -> tuple[swimlanes.Chart, list[StoredEvent], bool]:
    """The swimlanes' drawing, the events they were made of, and whether the cap cut them."""
    kinds = sorted(LANE_KINDS)
    events: list[StoredEvent] = []
    cursor: str | None = None
    while True:
        page = c.timeline.query(
            who, pc_id, kinds, since=start, until=until, limit=MAX_LIMIT, cursor=cursor
        )
        events.extend(page.items)
        cursor = page.next
        if cursor is None or len(events) >= LANE_EVENT_CAP:
            break
    capped = cursor is not None
    # The power state the range starts in: the last power event before it.
    before = c.timeline.query(who, pc_id, sorted(POWER_ON | POWER_OFF), until=start, limit=1)
    # The same now the range was chosen with, so a range ending now has its now line.
    lanes = build_lanes([*before.items, *reversed(events)], start, until, now)
    return swimlanes.chart(lanes, until, now, zone), events, capped


def _range(filters: Filters, now: datetime, zone_name: str) -> tuple[datetime, datetime]:
    since = lookups.local_to_utc(filters.since, zone_name, "since")
    until = lookups.local_to_utc(filters.until, zone_name, "until")
    if since and until and until <= since:
        raise InvalidInput("until must be after since", field="until")
    # Up to now; a range that starts in the future gets a day, drawn as still to come.
    end = until or (now if since is None or since < now else since + DEFAULT_RANGE)
    return since or end - DEFAULT_RANGE, end


def _timeline_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    base: str,
    row: fleet.AgentRow | None,
    filters: Filters,
    cursor: str,
    extra: list[tuple[str, str]],
    sort: str = "",
    limit: str = "",
) -> Response:
    who = session.principal
    now = c.timeline.clock()
    page: Page[StoredEvent] = Page([], None)
    order, size = TIMELINE_DEFAULT_SORT, EVENTS_PER_PAGE
    chart: swimlanes.Chart | None = None
    lane_events: list[StoredEvent] = []
    capped = False
    error, status_code = None, 200
    # The filters' date-times are on the reader's clock, as the times shown are.
    zone = reader_zone(request, session)
    zone_name = zone.key
    try:
        since = lookups.local_to_utc(filters.since, zone_name, "since")
        until = lookups.local_to_utc(filters.until, zone_name, "until")
        start, end = _range(filters, now, zone_name)
        pc_id = row.id if row else None
        order, size = list_params(sort, limit, TIMELINE_SORTS, TIMELINE_DEFAULT_SORT)
        page = c.timeline.query(
            who,
            pc_id,
            filters.kinds,
            filters.sources,
            since,
            until,
            limit=size,
            cursor=cursor or None,
            sort=order,
            count_up_to=COUNT_CAP,
        )
        if pc_id is not None:
            chart, lane_events, capped = _lanes(c, who, pc_id, start, end, now, zone)
    except InvalidInput as exc:
        # The filters come back with the reason, rather than a bare error page.
        error, status_code = exc.message, 422
    kept: dict[str, FilterValue] = {
        **dict(extra),
        "kind": filters.kinds,
        "source": filters.sources,
        "since": filters.since,
        "until": filters.until,
    }
    view = ListView(
        base, kept, order, TIMELINE_DEFAULT_SORT, size, cursor, page, "events", COUNT_CAP
    )
    # The known kinds, then any other kind an agent sent (kinds are open-ended).
    others = sorted({e.kind for e in page.items} - KNOWN_KINDS | set(filters.kinds) - KNOWN_KINDS)
    kind_chips = [
        Chip(
            kind.replace("_", " "),
            kind in filters.kinds,
            view.url(kind=_toggled(filters.kinds, kind), cursor=None),
        )
        for kind in [*(k.value for k in TimelineKind), *others]
    ]
    seen = {e.source for e in [*page.items, *lane_events]}
    source_chips = [
        Chip(s, s in filters.sources, view.url(source=_toggled(filters.sources, s), cursor=None))
        for s in sorted(seen | set(filters.sources))
    ]
    range_chips = [
        Chip(
            label,
            False,
            view.url(since=lookups.utc_to_local(now - span, zone_name), until="", cursor=None),
        )
        for label, span in RANGES
    ]
    agents = fleet.all_agents(c, who)
    return render(
        request,
        "timeline.html" if base == "/timeline" else "agent_timeline.html",
        session,
        status_code,
        error=error,
        row=row,
        tab="timeline",
        base=base,
        agents=agents,
        hostnames={a.id: a.agent.hostname for a in agents},
        filters=filters,
        zone_name=zone_name,
        kind_chips=kind_chips,
        source_chips=source_chips,
        range_chips=range_chips,
        filtered=bool(filters.params()),
        page=page,
        summary=summary,
        kind_class=kind_class,
        pretty=lambda p: json.dumps(p, indent=2, sort_keys=True, ensure_ascii=False),
        chart=chart,
        capped=capped,
        lane_cap=LANE_EVENT_CAP,
        view=view,
        clear_url=_url(base, extra),
    )


@router.get("/timeline")
def tenant_timeline(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    pc_id: str = "",
    kind: Repeated = None,
    source: Repeated = None,
    since: str = "",
    until: str = "",
    sort: str = "",
    limit: str = "",
    cursor: str = "",
) -> Response:
    row = agent_context(c, session, pc_id) if pc_id.strip() else None
    filters = Filters(kind or [], [s for s in source or [] if s.strip()], since, until)
    extra = [("pc_id", str(row.id))] if row else []
    return _timeline_page(
        request, c, session, "/timeline", row, filters, cursor, extra, sort, limit
    )


@router.get("/agents/{agent_id}/timeline")
def agent_timeline(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    agent_id: str,
    kind: Repeated = None,
    source: Repeated = None,
    since: str = "",
    until: str = "",
    sort: str = "",
    limit: str = "",
    cursor: str = "",
) -> Response:
    row = agent_context(c, session, agent_id)
    filters = Filters(kind or [], [s for s in source or [] if s.strip()], since, until)
    base = f"/agents/{row.id}/timeline"
    return _timeline_page(request, c, session, base, row, filters, cursor, [], sort, limit)
