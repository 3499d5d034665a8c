"""The search page: what the top bar's search box finds, grouped by kind."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fleetward.domain.errors import InvalidInput
from fleetward.domain.search import (
    MAX_PER_KIND,
    MAX_QUERY,
    PER_KIND,
    SearchKind,
    SearchResults,
    dashboard_path,
    parse_kind,
)
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages.common import PageRoute, SessionDep, render

router = APIRouter(route_class=PageRoute)

HEADINGS = {
    SearchKind.TICKETS: "Tickets",
    SearchKind.ALERTS: "Alerts",
    SearchKind.DEVICES: "Devices",
    SearchKind.CLIENTS: "Clients",
    SearchKind.AGENTS: "Agents",
}


def show_all_url(q: str, kind: SearchKind) -> str:
    """One kind's hits, up to MAX_PER_KIND: no other list filters by a substring."""
    return "/search?" + urlencode({"q": q, "kind": kind.value})


@router.get("/search")
def search_page(
    request: Request, c: ContainerDep, session: SessionDep, q: str = "", kind: str = ""
) -> Response:
    results: SearchResults | None = None
    error, status_code = None, 200
    only: SearchKind | None = None
    if q.strip():
        try:
            only = parse_kind(kind)
            results = c.search.search(
                session.principal, q, MAX_PER_KIND if only else PER_KIND, only
            )
        except InvalidInput as exc:
            error, status_code = exc.message, 422
    ticket_url = (
        dashboard_path(SearchKind.TICKETS, results.ticket.id) if results and results.ticket else ""
    )
    # "#1042" can only mean the ticket: go straight to it ("1042" lists it first).
    if results and results.query.exact_number and ticket_url:
        return RedirectResponse(ticket_url, 303)
    return render(
        request,
        "search.html",
        session,
        status_code,
        error=error,
        q=q.strip()[: MAX_QUERY * 2],
        only=only,
        results=results,
        ticket_url=ticket_url,
        headings=HEADINGS,
        path_of=dashboard_path,
        show_all_url=show_all_url,
        per_kind=PER_KIND,
        max_per_kind=MAX_PER_KIND,
        max_query=MAX_QUERY,
    )
