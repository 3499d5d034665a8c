"""The overview at `/`: where a login lands and a shift keeps an eye on.

Every number is a link to the list that shows exactly what it counts (with the
list's own filters: /alerts?status=open&severity=..., /tickets?age=...,
/agents?state=offline, /integrations?health=...). The charts are SVG drawn
here, with their numbers as text beside them, so they need no script.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleetward.domain.alerts import Severity
from fleetward.domain.overview import AGE_BUCKETS, OverviewFigures
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import lookups
from fleetward.entrypoints.http.pages.common import PageRoute, SessionDep, reader_zone, render

router = APIRouter(route_class=PageRoute)

CHART_WIDTH = 600
CHART_HEIGHT = 120
CHART_TOP = 4
CHART_BOTTOM = 1  # the axis line


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float
    link: str | None  # the list of what the bar counts, where a list can show it


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    noun: str
    bars: list[Bar]
    total: int
    peak: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def baseline(self) -> int:
        return self.height - CHART_BOTTOM

    @property
    def summary(self) -> str:
        """What a screen reader hears for the whole chart."""
        if not self.bars:
            return f"{self.title}: no days."
        first, last = self.bars[0].day, self.bars[-1].day
        busiest = max(self.bars, key=lambda b: b.count)
        text = f"{self.title}, {first:%d %b} to {last:%d %b}: {self.total} in all"
        if busiest.count:
            text += f", most on {busiest.day:%d %b} ({busiest.count})"
        return text + "."


def chart(title: str, noun: str, points: list[tuple[date, int]], link: str | None = None) -> Chart:
    """Bars for `points`, scaled to the busiest day; `link`, a list's path, takes
    since and until for each day's bounds (datetime-local, on the reader's clock)."""
    peak = max((n for _, n in points), default=0)
    slot = CHART_WIDTH / max(len(points), 1)
    usable = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    bars = []
    for index, (day, count) in enumerate(points):
        height = usable * count / peak if peak else 0.0
        if count and height < 1:
            height = 1.0  # a day with any at all shows
        url = None
        if link is not None:
            since = f"{day:%Y-%m-%d}T00:00"
            until = f"{day + timedelta(days=1):%Y-%m-%d}T00:00"
            url = f"{link}?{urlencode({'since': since, 'until': until})}"
        bars.append(
            Bar(
                day=day,
                count=count,
                x=round(index * slot + 1, 2),
                y=round(CHART_HEIGHT - CHART_BOTTOM - height, 2),
                width=round(max(slot - 2, 1), 2),
                height=round(height, 2),
                link=url,
            )
        )
    return Chart(title, noun, bars, sum(n for _, n in points), peak)


def duration(seconds: float | None) -> str:
    """`42 s`, `7 min`, `3 h 20 min`, `2 d 4 h`: as precise as a shift cares."""
    if seconds is None:
        return "—"
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass(frozen=True, slots=True)
class ClientCount:
    client_id: uuid.UUID | None
    name: str
    count: int

    @property
    def link(self) -> str:
        if self.client_id is None:
            return "/triage"  # open alerts recorded without a client
        return "/alerts?" + urlencode({"status": "open", "client_id": str(self.client_id)})


def client_counts(figures: OverviewFigures, names: dict[uuid.UUID, str]) -> list[ClientCount]:
    """Open alerts per client, most first; alerts without a client last."""
    found = [
        ClientCount(client_id, names.get(client_id, "(deleted client)"), count)
        for client_id, count in figures.by_client().items()
        if client_id is not None
    ]
    found.sort(key=lambda c: (-c.count, c.name.casefold()))
    unmapped = figures.by_client().get(None, 0)
    if unmapped:
        found.append(ClientCount(None, "No client (triage)", unmapped))
    return found


@router.get("/")
def overview(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    who = session.principal
    zone = reader_zone(request, session)
    figures = c.overview.figures(who, zone)
    names = lookups.names(lookups.clients(c, who))
    return render(
        request,
        "overview.html",
        session,
        figures=figures,
        severities=[s.value for s in Severity],
        clients=client_counts(figures, names),
        buckets=AGE_BUCKETS,
        duration=duration,
        charts=[
            chart(
                "Alerts per day (by when they occurred)",
                "alerts",
                figures.alerts_per_day,
                link="/alerts",
            ),
            chart("Tickets opened per day", "tickets", figures.tickets_per_day),
        ],
    )
