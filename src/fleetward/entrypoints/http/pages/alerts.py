"""The alerts pages: a filterable list, and one alert with its decision trace."""

from __future__ import annotations

import contextlib
import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleetward.domain.alerts import (
    ALERT_DEFAULT_SORT,
    ALERT_SORTS,
    OPEN_STATUSES,
    Alert,
    AlertFilter,
    AlertStatus,
    Severity,
)
from fleetward.domain.errors import InvalidInput, NotFound
from fleetward.domain.pagination import DEFAULT_LIMIT, Page
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import lookups
from fleetward.entrypoints.http.pages.common import (
    PageRoute,
    SessionDep,
    parse_id,
    reader_zone,
    render,
)
from fleetward.entrypoints.http.pages.listing import ListView, list_params

router = APIRouter(route_class=PageRoute)


OPEN = "open"  # ?status=open: active or acknowledged (the overview's open alerts)


def _choice(value: str, allowed: type[AlertStatus] | type[Severity], field: str) -> tuple[str, ...]:
    if not value:
        return ()
    if allowed is AlertStatus and value == OPEN:
        return tuple(sorted(s.value for s in OPEN_STATUSES))
    if value not in {member.value for member in allowed}:
        raise InvalidInput(f"{field} {value!r} is not one of the choices", field=field)
    return (value,)


def _filter(form: dict[str, str], zone_name: str) -> AlertFilter:
    """The query's filters; times are datetime-local inputs on the reader's clock."""
    since = lookups.local_to_utc(form["since"], zone_name, "since")
    until = lookups.local_to_utc(form["until"], zone_name, "until")
    if since and until and until <= since:
        raise InvalidInput("until must be after since", field="until")
    return AlertFilter(
        statuses=_choice(form["status"], AlertStatus, "status"),
        severities=_choice(form["severity"], Severity, "severity"),
        client_id=lookups.optional_id(form["client_id"], "client_id"),
        integration_id=lookups.optional_id(form["integration_id"], "integration_id"),
        device=form["device"] or None,
        since=since,
        until=until,
    )


@router.get("/alerts")
def list_alerts(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    status: str = "",
    severity: str = "",
    client_id: str = "",
    integration_id: str = "",
    device: str = "",
    since: str = "",
    until: str = "",
    sort: str = "",
    limit: str = "",
    cursor: str = "",
) -> Response:
    who = session.principal
    form = {
        "status": status,
        "severity": severity,
        "client_id": client_id,
        "integration_id": integration_id,
        "device": device.strip(),
        "since": since,
        "until": until,
    }
    zone = reader_zone(request, session)
    page: Page[Alert] = Page([], None, 0)
    error, status_code = None, 200
    order, size = ALERT_DEFAULT_SORT, DEFAULT_LIMIT
    try:
        order, size = list_params(sort, limit, ALERT_SORTS, ALERT_DEFAULT_SORT)
        page = c.alerts.search(who, _filter(form, zone.key), size, cursor or None, order)
    except InvalidInput as exc:
        # The filter form comes back with the reason, rather than a bare error page.
        error, status_code = exc.message, 422
    view = ListView("/alerts", form, order, ALERT_DEFAULT_SORT, size, cursor, page, "alerts")
    clients, integrations = lookups.clients(c, who), lookups.integrations(c, who)
    return render(
        request,
        "alerts.html",
        session,
        status_code,
        error=error,
        view=view,
        page=page,
        form=form,
        zone_name=zone.key,
        statuses=list(AlertStatus),
        severities=list(Severity),
        clients=clients,
        integrations=integrations,
        client_names=lookups.names(clients),
        integration_names=lookups.names(integrations),
    )


@router.get("/alerts/{alert_id}")
def show_alert(request: Request, c: ContainerDep, session: SessionDep, alert_id: str) -> Response:
    who = session.principal
    alert = c.alerts.get(who, parse_id(alert_id, "alert"))
    clients = lookups.clients(c, who)
    integration, ticket = None, None
    # Either may have been deleted since; the alert still names it, and still shows.
    with contextlib.suppress(NotFound):
        integration = c.integrations.get(who, alert.integration_id)
    if alert.ticket_id is not None:
        with contextlib.suppress(NotFound):
            ticket = c.tickets.get(who, alert.ticket_id).ticket
    acknowledged_by = None
    if alert.acknowledged_by is not None:
        names = {u.id: u.display_name or u.email for u in lookups.users(c, who)}
        names.setdefault(who.user_id, who.email)
        acknowledged_by = names.get(alert.acknowledged_by, "a user since removed")
    return render(
        request,
        "alert_detail.html",
        session,
        alert=alert,
        outbound_jobs=c.alert_actions.outbound(who, alert.id),
        # The trace is stored JSON: show what has the shape we write, never fail on it.
        outbound_attempts=[
            {key: str(value) for key, value in a.items()}
            for a in alert.trace.get("outbound") or ()
            if isinstance(a, dict)
        ]
        if isinstance(alert.trace.get("outbound"), list)
        else [],
        acknowledged_by=acknowledged_by,
        may_acknowledge=alert.status is AlertStatus.ACTIVE,
        may_resolve=alert.status in (*OPEN_STATUSES, AlertStatus.SUPPRESSED),
        may_open_ticket=alert.ticket_id is None and alert.client_id is not None,
        integration=integration,
        ticket=ticket,
        client_name=lookups.names(clients).get(alert.client_id) if alert.client_id else None,
        trace=lookups.trace_view(alert.trace, lookups.names(clients)),
        trace_json=json.dumps(alert.trace, indent=2, sort_keys=True),
    )
