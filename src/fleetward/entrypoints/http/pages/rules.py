"""The alert rules list: their order (up/down), and trying a payload on them.

Rules are settings: every role reads them, admins change them (the service
checks). The editor for one rule, and its deletion, are in rule_editor.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import InvalidInput, NotFound
from fleetward.domain.identity import Access
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    decode_cursor,
    encode_cursor,
)
from fleetward.domain.rules import AlertRule
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import lookups
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    parse_id,
    redirect,
    render,
)
from fleetward.entrypoints.http.pages.listing import ListView, list_params
from fleetward.services.identity import SessionInfo
from fleetward.services.rules import Trial

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]
_MOVES = {"up": -1, "down": 1}
BAD_CURSOR = "cursor is not one this server handed out for this sort order"


def all_rules(c: Container, session: SessionInfo) -> list[AlertRule]:
    """Every rule in evaluation order: reordering has to name them all."""
    rules: list[AlertRule] = []
    cursor: str | None = None
    while True:
        page = c.rules.page(session.principal, MAX_LIMIT, cursor)
        rules.extend(page.items)
        if page.next is None:
            return rules
        cursor = page.next


def _summary(rule: AlertRule, names: dict[uuid.UUID, str]) -> tuple[list[str], list[str]]:
    """Conditions and actions in a few words each, for the list."""
    c, a = rule.conditions, rule.actions
    when = []
    if c.severities:
        when.append("severity " + ", ".join(sorted(s.value for s in c.severities)))
    for label, values in (
        ("activity", c.activity_types),
        ("class", c.alert_classes),
        ("source", c.source_types),
    ):
        if values:
            when.append(f"{label} " + ", ".join(sorted(values)))
    if c.client_ids:
        when.append("client " + ", ".join(sorted(names.get(i, "(deleted)") for i in c.client_ids)))
    if c.keywords:
        when.append("keyword " + ", ".join(c.keywords))
    if c.message_pattern is not None:
        when.append(f"message matches /{c.message_pattern}/")
    then = []
    if not a.create_ticket:
        then.append("record only, no ticket")
    else:
        board = names.get(a.board_id) if a.board_id else None
        then.append("ticket on " + (board or "the default board"))
        if a.priority_id:
            then.append("priority " + names.get(a.priority_id, "?"))
        if a.title_template:
            then.append("own title")
        if a.auto_resolve_ticket:
            then.append("auto-resolve")
        if not a.reset_alert_on_ticket_close:
            then.append("no reset on close")
    return when or ["every alert"], then


@dataclass(frozen=True, slots=True)
class RuleRow:
    """A rule as the list shows it, with its place in evaluation order (from 1)."""

    position: int
    rule: AlertRule
    when: list[str]
    then: list[str]


# Sorting the view never changes the evaluation order: "order" is that order.
RULE_SORTS: dict[str, Callable[[RuleRow], Any]] = {
    "order": lambda row: row.position,
    "name": lambda row: row.rule.name.casefold(),
    "active": lambda row: row.rule.active,
}
RULE_DEFAULT_SORT = Sort("order")
RULE_STATES = {"active": True, "inactive": False}


def _rule_page(rows: list[RuleRow], sort: Sort, limit: int, cursor: str) -> Page[RuleRow]:
    """One page of the rules in `sort` order. Rules are few and all loaded already
    (reordering names them all), so the cursor is an offset into this order."""
    # Rows come in evaluation order and sorted() is stable, reversed or not: rules
    # that sort alike stay in the order they are tried.
    ordered = sorted(rows, key=RULE_SORTS[sort.key], reverse=sort.descending)
    start = 0
    if cursor:
        parts = decode_cursor(cursor, 2)
        if parts[0] != str(sort) or not isinstance(parts[1], int) or parts[1] < 0:
            raise InvalidInput(BAD_CURSOR, field="cursor")
        start = parts[1]
    end = start + limit
    next_cursor = encode_cursor(str(sort), end) if end < len(ordered) else None
    return Page(ordered[start:end], next_cursor, len(ordered))


def _list_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    status_code: int = 200,
    error: str | None = None,
    test: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
) -> Response:
    who = session.principal
    asked = query or {}
    state, cursor = asked.get("state", ""), asked.get("cursor", "")
    rules = all_rules(c, session)
    clients, integrations = lookups.clients(c, who), lookups.integrations(c, who)
    boards = c.boards.list_boards(who, MAX_LIMIT, None).items
    names = {
        **lookups.names(clients),
        **lookups.names(boards),
        **lookups.names(c.boards.list_priorities(who)),
    }
    rows = [RuleRow(n, rule, *_summary(rule, names)) for n, rule in enumerate(rules, 1)]
    page: Page[RuleRow] = Page([], None, 0)
    order, size = RULE_DEFAULT_SORT, DEFAULT_LIMIT
    try:
        if state and state not in RULE_STATES:
            raise InvalidInput("state must be active or inactive", field="state")
        order, size = list_params(
            asked.get("sort", ""), asked.get("limit", ""), RULE_SORTS, RULE_DEFAULT_SORT
        )
        shown = [r for r in rows if not state or r.rule.active == RULE_STATES[state]]
        page = _rule_page(shown, order, size, cursor)
    except InvalidInput as exc:
        error, status_code = exc.message, 422
    view = ListView(
        "/rules", {"state": state}, order, RULE_DEFAULT_SORT, size, cursor, page, "rules"
    )
    return render(
        request,
        "rules.html",
        session,
        status_code,
        error=error,
        view=view,
        # Moving is done where the whole evaluation order is in view.
        may_move=view.sort == RULE_DEFAULT_SORT and not view.filtered,
        rule_count=len(rows),
        integrations=integrations,
        test=test or {"integration_id": "", "payload": "", "results": None, "error": None},
    )


@router.get("/rules")
def list_rules(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    state: str = "",
    sort: str = "",
    limit: str = "",
    cursor: str = "",
) -> Response:
    query = {"state": state, "sort": sort, "limit": limit, "cursor": cursor}
    return _list_page(request, c, session, query=query)


@router.post("/rules/{rule_id}/move")
def move_rule(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    rule_id: str,
    direction: TextForm = "",
) -> Response:
    session.principal.require(Access.ADMIN)
    rid = parse_id(rule_id, "rule")
    rules = all_rules(c, session)
    ids = [rule.id for rule in rules]
    if rid not in ids:
        c.rules.get(session.principal, rid)  # the service's 404, with its audit of the probe
        raise NotFound("no such rule")  # made since the list was read
    if direction not in _MOVES:
        raise InvalidInput("direction must be up or down", field="direction")
    here = ids.index(rid)
    there = here + _MOVES[direction]
    name = rules[here].name
    if 0 <= there < len(ids):
        ids[here], ids[there] = ids[there], ids[here]
        try:
            c.rules.reorder(session.principal, ids)
        except InvalidInput as exc:  # a rule was added or deleted meanwhile
            return _list_page(request, c, session, 409, f"Not moved: {exc.message}. Try again.")
    return redirect(request, f"/rules#rule-{rid}", flash=f"Rule “{name}” moved {direction}.")


def _trial_view(trial: Trial, client_names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "kind": trial.kind.value if trial.kind else "ignored",
        "result": trial.result.value,
        "trace": lookups.trace_view(trial.trace, client_names),
    }


@router.post("/rules/test")
def test_payload(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    integration_id: TextForm = "",
    payload: TextForm = "",
) -> Response:
    """What the integration's webhook would do with the payload; nothing is stored."""
    who = session.principal
    test: dict[str, Any] = {"integration_id": integration_id, "payload": payload}
    try:
        iid = lookups.optional_id(integration_id, "integration_id")
        if iid is None:
            raise InvalidInput("choose an integration", field="integration_id")
        try:
            body = json.loads(payload)
        except ValueError as exc:
            raise InvalidInput(f"the payload is not JSON: {exc}", field="payload") from None
        if not isinstance(body, dict):
            raise InvalidInput("the payload must be a JSON object", field="payload")
        trials = c.rules.trial(who, iid, body)
    except InvalidInput as exc:
        return _list_page(request, c, session, 422, test={**test, "results": None, "error": exc})
    names = lookups.names(lookups.clients(c, who))
    results = [_trial_view(t, names) for t in trials]
    return _list_page(request, c, session, test={**test, "results": results, "error": None})
