"""What people do to alerts from the dashboard: acknowledge, resolve, open a ticket
(one alert or the checked ones of the list); the triage of alerts without a client,
with "map to client and reprocess"; a device's page with its alert history.

Every post carries the session's CSRF token (FormSessionDep); read-only users see
the pages without the forms, and the services refuse their posts (403) anyway.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.domain.alerts import Alert
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import lookups
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    parse_id,
    redirect,
    render,
    safe_next,
)
from fleetward.services.alert_actions import BULK_MAX

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]
DONE = {"acknowledge": "acknowledged", "resolve": "resolved", "ticket": "tickets opened"}


@router.post("/alerts/bulk")
def bulk(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    action: TextForm = "",
    alert_ids: Annotated[list[str] | None, Form()] = None,
    back: TextForm = "/alerts",
) -> Response:
    session.principal.require(Access.WRITE)  # before anything, an empty form included
    target = safe_next(back) if back.startswith("/alerts") else "/alerts"
    if action not in DONE:
        raise InvalidInput("action must be acknowledge, resolve or ticket", field="action")
    chosen = alert_ids or []
    if not chosen:
        return redirect(request, target, flash="No alerts were checked: nothing changed.")
    if len(chosen) > BULK_MAX:
        raise InvalidInput(f"check at most {BULK_MAX} alerts", field="alert_ids")
    ids = [lookups.optional_id(value, "alert_ids") for value in chosen]
    results = c.alert_actions.bulk(session.principal, [i for i in ids if i], action)
    counts = Counter(r.result for r in results)
    parts = [f"{n} {result.replace('_', ' ')}" for result, n in sorted(counts.items())]
    flash = f"{DONE[action].capitalize()}: {', '.join(parts)}."
    # Why the first refused one was refused: the reader sees what to do about it.
    refused = next((r.message for r in results if r.result == "conflict" and r.message), None)
    if refused:
        flash += f" Not changed: {refused[:200]}."
    return redirect(request, target, flash=flash)


def _act(
    request: Request, c: ContainerDep, session: FormSessionDep, alert_id: str, do: str
) -> Response:
    aid = parse_id(alert_id, "alert")
    who = session.principal
    if do == "acknowledge":
        c.alert_actions.acknowledge(who, aid)
        flash = "Alert acknowledged."
    elif do == "resolve":
        c.alert_actions.resolve(who, aid)
        flash = "Alert resolved."
    else:
        alert = c.alert_actions.open_ticket(who, aid)
        assert alert.ticket_id is not None
        ticket = c.tickets.get(who, alert.ticket_id).ticket
        flash = f"Ticket #{ticket.number} holds this alert."
    return redirect(request, f"/alerts/{aid}", flash=flash)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(
    request: Request, c: ContainerDep, session: FormSessionDep, alert_id: str
) -> Response:
    return _act(request, c, session, alert_id, "acknowledge")


@router.post("/alerts/{alert_id}/resolve")
def resolve(request: Request, c: ContainerDep, session: FormSessionDep, alert_id: str) -> Response:
    return _act(request, c, session, alert_id, "resolve")


@router.post("/alerts/{alert_id}/ticket")
def open_ticket(
    request: Request, c: ContainerDep, session: FormSessionDep, alert_id: str
) -> Response:
    return _act(request, c, session, alert_id, "ticket")


# Triage


def _groups(alerts: list[Alert]) -> list[dict[str, Any]]:
    """The alerts by (integration, organisation), the biggest group first."""
    groups: dict[tuple[uuid.UUID, str | None], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert.integration_id, alert.external_org_id), []).append(alert)
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    return [
        {"integration_id": key[0], "external_org_id": key[1], "alerts": items}
        for key, items in ordered
    ]


@router.get("/triage")
def triage(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    who = session.principal
    page = c.alert_actions.triage(who, None, None, MAX_LIMIT, None)
    integrations = lookups.integrations(c, who)
    return render(
        request,
        "triage.html",
        session,
        groups=_groups(page.items),
        more=page.next is not None,
        shown=len(page.items),
        clients=lookups.clients(c, who),
        integration_names=lookups.names(integrations),
    )


@router.post("/triage/map")
def map_and_reprocess(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    integration_id: TextForm = "",
    external_org_id: TextForm = "",
    client_id: TextForm = "",
) -> Response:
    """Add the organisation's mapping (admins), then run its alerts through the rules."""
    who = session.principal
    iid = parse_id(integration_id, "integration")
    cid = lookups.optional_id(client_id, "client_id")
    if cid is None:
        raise InvalidInput("choose a client", field="client_id")
    external = lookups.printable(external_org_id, "external_org_id")
    mapping = c.integrations.add_mapping(who, iid, external, cid)
    integration, _ = c.integrations.get_mapping(who, iid, mapping.id)
    done = c.alert_actions.reprocess(who, integration, mapping.external_org_id)
    results = ", ".join(f"{n} {result}" for result, n in sorted(done.results.items()))
    flash = f"Organisation “{external}” mapped; {done.alerts} alert(s) reprocessed"
    flash += f" ({results})." if results else "."
    return redirect(request, "/triage", flash=flash)


# A device and its alerts


@router.get("/assets/{asset_id}")
def show_asset(
    request: Request, c: ContainerDep, session: SessionDep, asset_id: str, cursor: str = ""
) -> Response:
    who = session.principal
    aid = parse_id(asset_id, "device")
    asset = c.alert_actions.assets.get(who, aid)
    page = c.alert_actions.asset_history(who, aid, None, cursor or None)
    clients = lookups.clients(c, who)
    integrations = lookups.integrations(c, who)
    next_url = f"/assets/{aid}?{urlencode({'cursor': page.next})}" if page.next else None
    return render(
        request,
        "asset_detail.html",
        session,
        asset=asset,
        page=page,
        cursor=cursor,
        next_url=next_url,
        client_name=lookups.names(clients).get(asset.client_id) if asset.client_id else None,
        integration_name=lookups.names(integrations).get(asset.integration_id),
    )
