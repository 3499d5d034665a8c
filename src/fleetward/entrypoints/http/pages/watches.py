"""The watch-rule pages: list (every role), create, edit, delete (admins).

A watch rule tells agents which event-log records become alerts; saving one
pushes the new configuration to every agent it applies to (the service does
that). The form's lists are typed as text: event ids and providers separated
by commas, keywords one per line.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel

from fleetward.bootstrap import Container
from fleetward.domain.alerts import Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import (
    WATCH_DEFAULT_SORT,
    WATCH_SORTS,
    EventLogWatch,
    MinLevel,
    ScopeType,
    WatchScope,
)
from fleetward.domain.identity import Access
from fleetward.domain.log_levels import LEVEL_HINTS, OTHER_WINDOWS_LOG, level_hint
from fleetward.domain.pagination import DEFAULT_LIMIT, Page
from fleetward.domain.tenancy import clean_name
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import crud, fleet, lookups
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    render,
)
from fleetward.entrypoints.http.pages.listing import ListView, list_params
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)

# The API's limits (routers/watches.py), so a form cannot save what the API refuses.
TEXT_MAX = 200
EVENT_IDS_MAX = 500
LIST_MAX = 100
# Where each scope's object is chosen on the form.
SCOPE_FIELDS = {
    ScopeType.CLIENT: "client_id",
    ScopeType.SITE: "site_id",
    ScopeType.AGENT: "agent_id",
}
COMMON_LOGS = ("System", "Application", "Security", "Setup", "journal")
WATCH_STATES = {"enabled": True, "disabled": False}


class WatchForm(BaseModel):
    name: str = ""
    scope_type: str = ScopeType.TENANT.value
    client_id: str = ""
    site_id: str = ""
    agent_id: str = ""
    log_name: str = ""
    event_ids: str = ""
    providers: str = ""
    # Any level, as the API: Security audit failures are Information (domain/log_levels.py).
    min_level: str = MinLevel.VERBOSE.value
    keywords: str = ""
    alert_severity: str = Severity.MODERATE.value
    enabled: str = ""  # a checkbox: "on" when ticked, absent otherwise


WatchFormDep = Annotated[WatchForm, Form()]


def _form_of(watch: EventLogWatch) -> WatchForm:
    rule, scope = watch.rule, watch.scope
    chosen = {SCOPE_FIELDS[scope.type]: str(scope.id)} if scope.id is not None else {}
    return WatchForm(
        name=rule.name,
        scope_type=scope.type.value,
        log_name=rule.log_name,
        event_ids=", ".join(str(i) for i in sorted(rule.event_ids)),
        providers=", ".join(rule.providers),
        min_level=rule.min_level.value,
        keywords="\n".join(rule.keywords),
        alert_severity=rule.alert_severity.value,
        enabled="on" if rule.enabled else "",
        **chosen,
    )


def _text(value: str, field: str) -> str:
    text = lookups.printable(value.strip(), field)
    if len(text) > TEXT_MAX:
        raise InvalidInput(f"at most {TEXT_MAX} characters", field=field)
    return text


def _items(values: list[str], field: str, most: int) -> list[str]:
    if len(values) > most:
        raise InvalidInput(f"at most {most} entries", field=field)
    return [_text(v, field) for v in values]


def _event_ids(value: str) -> list[int]:
    parts = [p for p in re.split(r"[\s,;]+", value.strip()) if p]
    if len(parts) > EVENT_IDS_MAX:
        raise InvalidInput(f"at most {EVENT_IDS_MAX} event ids", field="event_ids")
    bad = next((p for p in parts if not p.isascii() or not p.isdigit()), None)
    if bad is not None:
        raise InvalidInput(f"{bad!r} is not an event id (a number)", field="event_ids")
    return list(dict.fromkeys(int(p) for p in parts))


def _choice(value: str, allowed: Any, field: str) -> Any:
    try:
        return allowed(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not one of the choices", field=field) from None


def _scope(form: WatchForm) -> WatchScope:
    kind: ScopeType = _choice(form.scope_type, ScopeType, "scope_type")
    if kind is ScopeType.TENANT:
        return WatchScope(kind)
    field = SCOPE_FIELDS[kind]
    chosen = lookups.optional_id(getattr(form, field), field)
    if chosen is None:
        raise InvalidInput(f"choose the {kind.value} the rule applies to", field=field)
    return WatchScope(kind, chosen)


def _parse(form: WatchForm) -> tuple[WatchScope | None, dict[str, Any], lookups.FieldErrors]:
    """The service's arguments from the form, and every field's error at once."""
    e = lookups.FieldErrors()
    scope = e.check("scope_type", _scope, form)
    if scope is None and "scope_type" in e and form.scope_type in SCOPE_FIELDS:
        # The reason is about the chooser, so it goes next to it.
        e[SCOPE_FIELDS[ScopeType(form.scope_type)]] = e.pop("scope_type")
    rule: dict[str, Any] = {
        "name": e.check("name", clean_name, form.name),
        "log_name": e.check("log_name", _text, form.log_name, "log_name"),
        "event_ids": e.check("event_ids", _event_ids, form.event_ids),
        "providers": e.check(
            "providers", _items, lookups.split_list(form.providers), "providers", LIST_MAX
        ),
        "keywords": e.check(
            "keywords",
            _items,
            [k.strip() for k in form.keywords.splitlines() if k.strip()],
            "keywords",
            LIST_MAX,
        ),
        "min_level": e.check("min_level", _choice, form.min_level, MinLevel, "min_level"),
        "alert_severity": e.check(
            "alert_severity", _choice, form.alert_severity, Severity, "alert_severity"
        ),
        "enabled": form.enabled == "on",
    }
    # The domain's own checks (a log name given, ids in range) come back from the service.
    return scope, rule, e


def _page(
    request: Request,
    c: Container,
    session: SessionInfo,
    template: str,
    form: WatchForm,
    watch: EventLogWatch | None = None,
    errors: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> Response:
    """A watch page; the list's (watches.html) as `query` (state, sort, limit, cursor) asks."""
    who = session.principal
    view, error = (
        _list_view(c, session, query or {}) if template == "watches.html" else (None, None)
    )
    clients = lookups.clients(c, who)
    sites = fleet.sites(c, who, clients)
    agents = fleet.all_agents(c, who)
    names: dict[uuid.UUID, str] = lookups.names(clients)
    names.update({s.id: s.label for s in sites})
    names.update({a.id: a.agent.hostname for a in agents})
    if errors:
        error = "The rule was not saved: correct the fields marked below."
    return render(
        request,
        template,
        session,
        422 if errors or error else 200,
        error=error,
        view=view,
        watch=watch,
        form=form,
        errors=errors or {},
        names=names,
        clients=clients,
        sites=sites,
        agents=agents,
        scope_types=list(ScopeType),
        levels=list(MinLevel),
        severities=list(Severity),
        common_logs=COMMON_LOGS,
        level_hint=level_hint(form.log_name),
        level_hints=json.dumps({**LEVEL_HINTS, "": OTHER_WINDOWS_LOG}),
    )


def _list_view(
    c: Container, session: SessionInfo, query: dict[str, str]
) -> tuple[ListView, str | None]:
    state, cursor = query.get("state", ""), query.get("cursor", "")
    page: Page[EventLogWatch] = Page([], None, 0)
    order, size = WATCH_DEFAULT_SORT, DEFAULT_LIMIT
    error = None
    try:
        if state and state not in WATCH_STATES:
            raise InvalidInput("state must be enabled or disabled", field="state")
        order, size = list_params(
            query.get("sort", ""), query.get("limit", ""), WATCH_SORTS, WATCH_DEFAULT_SORT
        )
        enabled = WATCH_STATES.get(state)
        page = c.watches.listed(session.principal, size, cursor or None, order, enabled)
    except InvalidInput as exc:
        error = exc.message
    filters = {"state": state}
    view = ListView(
        "/watches", filters, order, WATCH_DEFAULT_SORT, size, cursor, page, "watch rules"
    )
    return view, error


@router.get("/watches")
def list_watches(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    state: str = "",
    sort: str = "",
    limit: str = "",
    cursor: str = "",
) -> Response:
    query = {"state": state, "sort": sort, "limit": limit, "cursor": cursor}
    return _page(request, c, session, "watches.html", WatchForm(enabled="on"), query=query)


def _save(
    request: Request,
    c: Container,
    session: SessionInfo,
    form: WatchForm,
    watch: EventLogWatch | None,
) -> Response:
    session.principal.require(Access.ADMIN)
    scope, rule, errors = _parse(form)

    def write(existing: EventLogWatch | None) -> EventLogWatch:
        assert scope is not None  # else _parse gave its reason
        if existing is None:
            return c.watches.create(session.principal, scope, rule)
        return c.watches.update(session.principal, existing.id, {**rule, "scope": scope})

    def field(exc: InvalidInput) -> str:
        field = exc.field or "name"
        if field == "scope.id" and scope is not None:
            field = SCOPE_FIELDS.get(scope.type, "scope_type")
        return lookups.short_field(field)

    def form_again(errors: dict[str, str]) -> Response:
        template = "watches.html" if watch is None else "watch_edit.html"
        return _page(request, c, session, template, form, watch, errors)

    return crud.save(request, WATCHES, watch, errors, write, form_again, field)


@router.post("/watches")
def create_watch(
    request: Request, c: ContainerDep, session: FormSessionDep, form: WatchFormDep
) -> Response:
    return _save(request, c, session, form, None)


WATCHES: crud.Kind[EventLogWatch] = crud.Kind(
    path="/watches",
    param="watch_id",
    noun="watch rule",
    label="Watch rule",
    access=Access.ADMIN,
    get=lambda c: c.watches.get,
    delete=lambda c: c.watches.delete,
    name=lambda watch: watch.rule.name,
    anchor=lambda watch: f"watch-{watch.id}",
    confirmation=crud.Confirmation(
        active="watches",
        title="Delete",
        heading="Delete watch rule?",
        before="This deletes the watch rule ",
        after=". Agents stop watching for it as soon as they hear of the change; alerts"
        " it already raised stay.",
    ),
)


def _edit_page(
    request: Request, c: Container, session: SessionInfo, watch: EventLogWatch
) -> Response:
    return _page(request, c, session, "watch_edit.html", _form_of(watch), watch)


@router.post("/watches/{watch_id}/edit")
def edit_watch(
    request: Request, c: ContainerDep, session: FormSessionDep, watch_id: str, form: WatchFormDep
) -> Response:
    return _save(request, c, session, form, WATCHES.fetch(c, session, watch_id))


crud.add_edit_and_delete_routes(router, WATCHES, _edit_page)
