"""The maintenance windows pages: list, create, edit, delete (admins write).

A one-off window is entered on the wall clock of a chosen zone and stored in
UTC; a weekly one keeps its IANA zone, so "Sunday 02:00" stays 02:00 across
daylight-saving changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from fleetward.bootstrap import Container
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.maintenance import (
    DAY_NAMES,
    MaintenanceWindow,
    WeeklyRecurrence,
    parse_hhmm,
    zone,
)
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.domain.tenancy import clean_name
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import crud, lookups
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    reader_zone,
    render,
)
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)


class WindowForm(BaseModel):
    name: str = ""
    integration_id: str = ""
    client_id: str = ""
    asset_id: str = ""
    kind: str = "once"  # once | weekly
    starts_at: str = ""  # datetime-local, on bounds_zone's clock
    ends_at: str = ""
    bounds_zone: str = "UTC"
    days: list[str] = Field(default_factory=list)  # "0" (Sunday) .. "6"
    start_time: str = ""
    end_time: str = ""
    timezone: str = "UTC"


WindowFormDep = Annotated[WindowForm, Form()]


def _form_of(w: MaintenanceWindow, zone_name: str) -> WindowForm:
    """The window as its form shows it: a one-off's bounds on the reader's clock
    (`zone_name`), a weekly one's times on its own zone's."""
    r = w.recurrence
    return WindowForm(
        name=w.name,
        integration_id=str(w.integration_id or ""),
        client_id=str(w.client_id or ""),
        asset_id=str(w.asset_id or ""),
        kind="weekly" if r else "once",
        starts_at=lookups.utc_to_local(w.starts_at, zone_name),
        ends_at=lookups.utc_to_local(w.ends_at, zone_name),
        bounds_zone=zone_name,
        days=[str(d) for d in sorted(r.days)] if r else [],
        start_time=r.start.strftime("%H:%M") if r else "",
        end_time=r.end.strftime("%H:%M") if r else "",
        timezone=r.timezone if r else zone_name,
    )


def _days(values: list[str]) -> frozenset[int]:
    if not values:
        raise InvalidInput("choose at least one day", field="days")
    if any(v not in {"0", "1", "2", "3", "4", "5", "6"} for v in values):
        raise InvalidInput("days are 0 (Sunday) to 6 (Saturday)", field="days")
    return frozenset(int(v) for v in values)


def _recurrence(form: WindowForm, e: lookups.FieldErrors) -> WeeklyRecurrence | None:
    days = e.check("days", _days, form.days)
    start = e.check("start_time", parse_hhmm, form.start_time.strip(), "start_time")
    end = e.check("end_time", parse_hhmm, form.end_time.strip(), "end_time")
    tz = e.check("timezone", zone, form.timezone.strip(), "timezone")
    if days is None or start is None or end is None or tz is None:
        return None
    # What is left to refuse is the pair (start equal to end): it goes with the end.
    made: WeeklyRecurrence | None = e.check(
        "end_time", WeeklyRecurrence, days, start, end, form.timezone.strip()
    )
    return made


def _parse(form: WindowForm) -> tuple[dict[str, Any], lookups.FieldErrors]:
    """The service's arguments from the form, and every field's error at once."""
    e = lookups.FieldErrors()
    values: dict[str, Any] = {"name": e.check("name", clean_name, form.name)}
    for field in ("integration_id", "client_id", "asset_id"):
        values[field] = e.check(field, lookups.optional_id, getattr(form, field), field)
    zone_name = form.bounds_zone.strip()
    for field in ("starts_at", "ends_at"):
        given = getattr(form, field)
        values[field] = e.check(field, lookups.local_to_utc, given, zone_name, field, "bounds_zone")
    values["recurrence"] = None
    if form.kind == "weekly":
        values["recurrence"] = _recurrence(form, e)
    elif not (form.starts_at and form.ends_at):
        e.setdefault("starts_at", "a one-off window needs a start and an end")
    return values, e


def _page(
    request: Request,
    c: Container,
    session: SessionInfo,
    template: str,
    form: WindowForm,
    window: MaintenanceWindow | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    who = session.principal
    windows = lookups.by_name(c.maintenance.page(who, MAX_LIMIT, None).items)
    integrations, clients = lookups.integrations(c, who), lookups.clients(c, who)
    assets = [
        (i, a)
        for i in integrations
        for a in c.integrations.list_assets(who, i.id, MAX_LIMIT, None).items
    ]
    names = {**lookups.names(integrations), **lookups.names(clients)}
    names.update({a.id: a.name or a.external_device_id for _, a in assets})
    now = c.maintenance.clock()
    return render(
        request,
        template,
        session,
        422 if errors else 200,
        error="The window was not saved: correct the fields marked below." if errors else None,
        windows=[(w, w.active_at(now)) for w in windows],
        window=window,
        window_active=bool(window and window.active_at(now)),
        form=form,
        errors=errors or {},
        names=names,
        integrations=integrations,
        clients=clients,
        assets=assets,
        day_names=list(enumerate(DAY_NAMES)),
        zones=lookups.COMMON_ZONES,
    )


@router.get("/maintenance")
def list_windows(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    # A new window's times start on the reader's clock; they may choose another zone.
    zone_name = reader_zone(request, session).key
    form = WindowForm(bounds_zone=zone_name, timezone=zone_name)
    return _page(request, c, session, "windows.html", form)


def _save(
    request: Request,
    c: Container,
    session: SessionInfo,
    form: WindowForm,
    window: MaintenanceWindow | None,
) -> Response:
    session.principal.require(Access.ADMIN)
    values, errors = _parse(form)

    def write(existing: MaintenanceWindow | None) -> MaintenanceWindow:
        if existing is None:
            return c.maintenance.create(session.principal, **values)
        return c.maintenance.update(session.principal, existing.id, values)

    def form_again(errors: dict[str, str]) -> Response:
        template = "windows.html" if window is None else "window_edit.html"
        return _page(request, c, session, template, form, window, errors)

    return crud.save(request, WINDOWS, window, errors, write, form_again)


@router.post("/maintenance")
def create_window(
    request: Request, c: ContainerDep, session: FormSessionDep, form: WindowFormDep
) -> Response:
    return _save(request, c, session, form, None)


WINDOWS: crud.Kind[MaintenanceWindow] = crud.Kind(
    path="/maintenance",
    param="window_id",
    noun="maintenance window",
    label="Window",
    access=Access.ADMIN,
    get=lambda c: c.maintenance.get,
    delete=lambda c: c.maintenance.delete,
    name=lambda window: window.name,
    anchor=lambda window: f"window-{window.id}",
    confirmation=crud.Confirmation(
        active="maintenance",
        title="Delete",
        heading="Delete window?",
        before="This deletes the maintenance window ",
        after=". Alerts it would have covered open tickets again.",
    ),
)


def _edit_page(
    request: Request, c: Container, session: SessionInfo, window: MaintenanceWindow
) -> Response:
    form = _form_of(window, reader_zone(request, session).key)
    return _page(request, c, session, "window_edit.html", form, window)


@router.post("/maintenance/{window_id}/edit")
def edit_window(
    request: Request, c: ContainerDep, session: FormSessionDep, window_id: str, form: WindowFormDep
) -> Response:
    return _save(request, c, session, form, WINDOWS.fetch(c, session, window_id))


crud.add_edit_and_delete_routes(router, WINDOWS, _edit_page)
