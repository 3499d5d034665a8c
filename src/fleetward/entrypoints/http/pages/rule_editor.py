"""The editor of one alert rule (admins only), with live checks of patterns and templates,
and its deletion.

Every field is read as text and checked here first, so one save reports every
bad field at once next to it; the service then checks again (ids of the
tenant's own clients, boards, statuses) and its error goes next to its field.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from fleetward.bootstrap import Container
from fleetward.domain.alerts import Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.domain.rules import AlertRule, RuleActions, RuleConditions, compile_pattern
from fleetward.domain.template_filters import FILTERS
from fleetward.domain.templates import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    TEMPLATE_VARIABLES,
    check_template,
)
from fleetward.domain.tenancy import clean_name
from fleetward.domain.tickets import StatusKind
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import crud, lookups
from fleetward.entrypoints.http.pages.common import (
    PAGE_HEADERS,
    FormSessionDep,
    PageRoute,
    SessionDep,
    render,
    templates,
)
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)

LABEL_MAX = 200  # as the API's rule labels
CHECKED = "on"  # what a checked checkbox sends
LABELS = ("activity_types", "alert_classes", "source_types", "keywords")
LIVE_CHECKS = ("message_pattern", "title_template", "description_template")


class RuleForm(BaseModel):
    """The editor's fields as sent: text, checkboxes ("on" or absent) and multi-selects."""

    name: str = ""
    active: str = ""
    severities: list[str] = Field(default_factory=list)
    activity_types: str = ""
    alert_classes: str = ""
    source_types: str = ""
    keywords: str = ""
    client_ids: list[str] = Field(default_factory=list)
    message_pattern: str = ""
    create_ticket: str = ""
    board_id: str = ""
    priority_id: str = ""
    assignee_id: str = ""
    title_template: str = ""
    description_template: str = ""
    auto_resolve_ticket: str = ""
    auto_resolve_status_id: str = ""
    reset_alert_on_ticket_close: str = ""
    notify_user_ids: list[str] = Field(default_factory=list)


RuleFormDep = Annotated[RuleForm, Form()]
NEW_RULE = RuleForm(active=CHECKED, create_ticket=CHECKED, reset_alert_on_ticket_close=CHECKED)


def _form_of(rule: AlertRule) -> RuleForm:
    c, a = rule.conditions, rule.actions

    def on(flag: bool) -> str:
        return CHECKED if flag else ""

    return RuleForm(
        name=rule.name,
        active=on(rule.active),
        severities=[s.value for s in c.severities],
        activity_types=", ".join(sorted(c.activity_types)),
        alert_classes=", ".join(sorted(c.alert_classes)),
        source_types=", ".join(sorted(c.source_types)),
        keywords=", ".join(c.keywords),
        client_ids=[str(i) for i in c.client_ids],
        message_pattern=c.message_pattern or "",
        create_ticket=on(a.create_ticket),
        board_id=str(a.board_id or ""),
        priority_id=str(a.priority_id or ""),
        assignee_id=str(a.assignee_id or ""),
        title_template=a.title_template or "",
        description_template=a.description_template or "",
        auto_resolve_ticket=on(a.auto_resolve_ticket),
        auto_resolve_status_id=str(a.auto_resolve_status_id or ""),
        reset_alert_on_ticket_close=on(a.reset_alert_on_ticket_close),
        notify_user_ids=[str(i) for i in a.notify_user_ids],
    )


def _labels(value: str, field: str) -> frozenset[str]:
    labels = lookups.split_list(lookups.printable(value, field))
    if any(len(label) > LABEL_MAX for label in labels):
        raise InvalidInput(f"each must be at most {LABEL_MAX} characters", field=field)
    return frozenset(labels)


def _severities(values: list[str]) -> frozenset[Severity]:
    try:
        return frozenset(Severity(v) for v in values)
    except ValueError:
        raise InvalidInput("not a severity", field="severities") from None


def _ids(values: list[str], field: str) -> tuple[uuid.UUID, ...]:
    found = (lookups.optional_id(v, field) for v in values)
    return tuple(dict.fromkeys(i for i in found if i is not None))


def _pattern(value: str) -> str | None:
    # An empty pattern would match everything: the field left empty means no condition.
    if not value:
        return None
    compile_pattern(lookups.printable(value, "message_pattern"), "message_pattern")
    return value


def _template(value: str, field: str) -> str | None:
    if not value.strip():
        return None
    check_template(lookups.printable(value, field), field)
    return value


def _parse(form: RuleForm) -> tuple[str, RuleConditions, RuleActions, lookups.FieldErrors]:
    e = lookups.FieldErrors()
    name = e.check("name", clean_name, form.name) or ""
    labels = {field: e.check(field, _labels, getattr(form, field), field) for field in LABELS}
    conditions = RuleConditions(
        severities=e.check("severities", _severities, form.severities) or frozenset(),
        activity_types=labels["activity_types"] or frozenset(),
        alert_classes=labels["alert_classes"] or frozenset(),
        source_types=labels["source_types"] or frozenset(),
        client_ids=frozenset(e.check("client_ids", _ids, form.client_ids, "client_ids") or ()),
        keywords=tuple(lookups.split_list(form.keywords)) if labels["keywords"] else (),
        message_pattern=e.check("message_pattern", _pattern, form.message_pattern),
    )
    ids = {
        f: e.check(f, lookups.optional_id, getattr(form, f), f)
        for f in ("board_id", "priority_id", "assignee_id", "auto_resolve_status_id")
    }
    actions = RuleActions(
        create_ticket=form.create_ticket == CHECKED,
        title_template=e.check("title_template", _template, form.title_template, "title_template"),
        description_template=e.check(
            "description_template", _template, form.description_template, "description_template"
        ),
        auto_resolve_ticket=form.auto_resolve_ticket == CHECKED,
        reset_alert_on_ticket_close=form.reset_alert_on_ticket_close == CHECKED,
        notify_user_ids=e.check("notify_user_ids", _ids, form.notify_user_ids, "notify_user_ids")
        or (),
        **ids,
    )
    return name, conditions, actions, e


def _editor(
    request: Request,
    c: Container,
    session: SessionInfo,
    rule: AlertRule | None,
    form: RuleForm,
    errors: dict[str, str] | None = None,
) -> Response:
    who = session.principal
    boards = lookups.by_name(c.boards.list_boards(who, MAX_LIMIT, None).items)
    closed = [
        (board, s)
        for board in boards
        for s in c.boards.list_statuses(who, board.id)
        if s.kind is StatusKind.CLOSED
    ]
    return render(
        request,
        "rule_edit.html",
        session,
        422 if errors else 200,
        error="The rule was not saved: correct the fields marked below." if errors else None,
        rule=rule,
        form=form,
        errors=errors or {},
        severities=list(Severity),
        clients=lookups.clients(c, who),
        boards=boards,
        priorities=c.boards.list_priorities(who),
        users=[{"id": u.id, "name": u.display_name or u.email} for u in lookups.users(c, who)],
        closed_statuses=closed,
        variables=TEMPLATE_VARIABLES,
        filters=sorted(FILTERS),
        title_cap=MAX_TITLE_CHARS,
        description_cap=f"{MAX_DESCRIPTION_CHARS:,}",
    )


def _save(
    request: Request, c: Container, session: SessionInfo, rule: AlertRule | None, form: RuleForm
) -> Response:
    session.principal.require(Access.ADMIN)
    name, conditions, actions, errors = _parse(form)
    active = form.active == CHECKED

    def write(existing: AlertRule | None) -> AlertRule:
        who = session.principal
        if existing is None:
            return c.rules.create(who, name, active, conditions, actions)
        return c.rules.update(who, existing.id, name, active, conditions, actions)

    def form_again(errors: dict[str, str]) -> Response:
        return _editor(request, c, session, rule, form, errors)

    return crud.save(request, RULES, rule, errors, write, form_again)


@router.get("/rules/new")
def new_rule_form(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    # Rules are admins' settings: anyone else is told so rather than shown a dead form.
    session.principal.require(Access.ADMIN)
    return _editor(request, c, session, None, NEW_RULE)


@router.post("/rules/new")
def create_rule(
    request: Request, c: ContainerDep, session: FormSessionDep, form: RuleFormDep
) -> Response:
    return _save(request, c, session, None, form)


RULES: crud.Kind[AlertRule] = crud.Kind(
    path="/rules",
    param="rule_id",
    noun="rule",
    label="Rule",
    access=Access.ADMIN,
    get=lambda c: c.rules.get,
    delete=lambda c: c.rules.delete,
    name=lambda rule: rule.name,
    anchor=lambda rule: f"rule-{rule.id}",
    confirmation=crud.Confirmation(
        active="rules",
        title="Delete rule",
        heading="Delete rule?",
        before="This deletes the rule ",
        after=". Alerts it matched keep their tickets; new alerts go on to the next rule.",
    ),
)


def _edit_page(request: Request, c: Container, session: SessionInfo, rule: AlertRule) -> Response:
    return _editor(request, c, session, rule, _form_of(rule))


@router.post("/rules/{rule_id}/edit")
def edit_rule(
    request: Request, c: ContainerDep, session: FormSessionDep, rule_id: str, form: RuleFormDep
) -> Response:
    return _save(request, c, session, RULES.fetch(c, session, rule_id), form)


@router.post("/rules/check/{field}")
def check_field(
    request: Request, session: FormSessionDep, field: str, form: RuleFormDep
) -> Response:
    """The editor's live check (HTMX): is this pattern or template valid, and if not why."""
    if field not in LIVE_CHECKS:
        raise InvalidInput("no such check", field="field")
    value = getattr(form, field)
    errors = lookups.FieldErrors()
    if field == "message_pattern":
        errors.check(field, _pattern, value)
    else:
        errors.check(field, _template, value, field)
    context: dict[str, Any] = {
        "field": field,
        "empty": not value.strip(),
        "reason": errors.get(field),
    }
    # A fragment, not a page: no navigation, no flash message to consume.
    return templates.TemplateResponse(request, "rule_check.html", context, headers=PAGE_HEADERS)


# After the live check, so /rules/check/... stays the check's whatever follows.
crud.add_edit_and_delete_routes(router, RULES, _edit_page)
