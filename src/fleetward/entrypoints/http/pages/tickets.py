"""The tickets pages: a filtered list, and one ticket with its work and alerts.

Operators and admins comment, book time and move the status (a closed-kind
status closes the ticket); read-only users see the same page without forms.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.alerts import AlertFilter
from fleetward.domain.errors import Conflict, InvalidInput, NotFound
from fleetward.domain.overview import age_bucket
from fleetward.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from fleetward.domain.tickets import (
    TICKET_DEFAULT_SORT,
    TICKET_SORTS,
    StatusKind,
    TicketStatus,
)
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.errors import STATUS
from fleetward.entrypoints.http.pages import lookups, ticket_history
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
from fleetward.services.tickets import TicketView

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]
STATES = {"open": False, "closed": True, "all": None}
# The assignee filter's two words: the reader ("my tickets"), and nobody.
MINE, NOBODY = "mine", "none"


def _statuses(c: Container, session: SessionInfo) -> tuple[list[Any], list[TicketStatus]]:
    """Every board and every status, for the filters and for naming them in the list."""
    who = session.principal
    boards = lookups.by_name(c.boards.list_boards(who, MAX_LIMIT, None).items)
    statuses = [s for b in boards for s in c.boards.list_statuses(who, b.id)]
    return boards, statuses


def _assignee(value: str, session: SessionInfo) -> dict[str, Any]:
    """The assignee filter: "mine" is the reader, "none" nobody, else a user's id."""
    if not value:
        return {}
    if value == MINE:
        return {"assignee_id": session.principal.user_id}
    if value == NOBODY:
        return {"unassigned": True}
    return {"assignee_id": lookups.optional_id(value, "assignee")}


@router.get("/tickets")
def list_tickets(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    state: str = "open",
    board_id: str = "",
    status_id: str = "",
    client_id: str = "",
    priority_id: str = "",
    assignee: str = "",
    age: str = "",
    sort: str = "",
    limit: str = "",
    cursor: str = "",
) -> Response:
    who = session.principal
    form = {
        "state": state,
        "board_id": board_id,
        "status_id": status_id,
        "client_id": client_id,
        "priority_id": priority_id,
        "assignee": assignee,
        "age": age,
    }
    page: Page[TicketView] = Page([], None, 0)
    error, status_code = None, 200
    order, size = TICKET_DEFAULT_SORT, DEFAULT_LIMIT
    try:
        if state not in STATES:
            raise InvalidInput("state must be open, closed or all", field="state")
        order, size = list_params(sort, limit, TICKET_SORTS, TICKET_DEFAULT_SORT)
        where: dict[str, Any] = {
            "is_closed": STATES[state],
            "board_id": lookups.optional_id(board_id, "board_id"),
            "status_id": lookups.optional_id(status_id, "status_id"),
            "client_id": lookups.optional_id(client_id, "client_id"),
            "priority_id": lookups.optional_id(priority_id, "priority_id"),
            **_assignee(assignee, session),
        }
        if age:  # the overview's age buckets: opened that long ago
            where["opened_after"], where["opened_until"] = age_bucket(age).opened_between(
                c.tickets.clock()
            )
        chosen = {k: v for k, v in where.items() if v is not None}
        page = c.tickets.search(who, size, cursor or None, order, **chosen)
    except InvalidInput as exc:
        # The filter form comes back with the reason, rather than a bare error page.
        error, status_code = exc.message, 422
    # Open is the list's own default: only another state is kept in its links.
    kept = {**form, "state": "" if state == "open" else state}
    view = ListView("/tickets", kept, order, TICKET_DEFAULT_SORT, size, cursor, page, "tickets")
    boards, statuses = _statuses(c, session)
    clients = lookups.clients(c, who)
    users = lookups.users(c, who)
    priorities = c.boards.list_priorities(who)
    return render(
        request,
        "tickets.html",
        session,
        status_code,
        error=error,
        view=view,
        page=page,
        form=form,
        mine=MINE,
        nobody=NOBODY,
        boards=boards,
        statuses=statuses,
        board_names=lookups.names(boards),
        status_by_id={s.id: s for s in statuses},
        clients=clients,
        client_names=lookups.names(clients),
        priorities=priorities,
        priority_names=lookups.names(priorities),
        users=users,
        assignee_names=ticket_history.assignee_names(c, who),
        age_label=age_bucket(age).label if age and status_code == 200 else "",
    )


def _ticket_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    ticket_id: uuid.UUID,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    who = session.principal
    view = c.tickets.get(who, ticket_id)
    ticket = view.ticket
    statuses = c.boards.list_statuses(who, ticket.board_id)
    board = c.boards.get_board(who, ticket.board_id)
    client_name = None
    if ticket.client_id is not None:
        try:
            client_name = c.clients.get_client(who, ticket.client_id).name
        except NotFound:  # deleted since
            client_name = None
    comments = c.tickets.list_comments(who, ticket_id, MAX_LIMIT, None)
    entries = c.tickets.list_time_entries(who, ticket_id, MAX_LIMIT, None)
    alerts = c.alerts.search(who, AlertFilter(ticket_id=ticket_id), MAX_LIMIT, None).items
    users = lookups.users(c, who)
    user_names = {u.id: u.display_name or u.email for u in users}
    # Only admins may list users; everyone else still recognises their own work.
    user_names.setdefault(who.user_id, who.email)
    priorities = c.boards.list_priorities(who)
    history = ticket_history.history_lines(
        c.tickets.history(who, ticket_id),
        {s.id: s.name for s in statuses},
        lookups.names(priorities),
        user_names,
    )
    return render(
        request,
        "ticket_detail.html",
        session,
        status_code,
        error=error,
        ticket=ticket,
        flapping=view.flapping,
        board=board,
        statuses=statuses,
        status=next((s for s in statuses if s.id == ticket.status_id), None),
        closed_kind=StatusKind.CLOSED,
        priorities=priorities,
        client_name=client_name,
        comments=comments,
        entries=entries,
        total_minutes=sum(e.minutes for e in entries.items),
        alerts=alerts,
        user_names=user_names,
        users=[u for u in users if not u.disabled],
        history=history,
        form=form or {"body": "", "minutes": "", "note": ""},
    )


@router.get("/tickets/{ticket_id}")
def show_ticket(request: Request, c: ContainerDep, session: SessionDep, ticket_id: str) -> Response:
    return _ticket_page(request, c, session, parse_id(ticket_id, "ticket"))


@router.post("/tickets/{ticket_id}/comments")
def add_comment(
    request: Request, c: ContainerDep, session: FormSessionDep, ticket_id: str, body: TextForm = ""
) -> Response:
    tid = parse_id(ticket_id, "ticket")
    try:
        c.tickets.add_comment(session.principal, tid, lookups.printable(body, "body"))
    except InvalidInput as exc:
        form = {"body": body, "minutes": "", "note": ""}
        return _ticket_page(request, c, session, tid, 422, exc.message, form)
    return redirect(request, f"/tickets/{tid}#comments", flash="Comment added.")


@router.post("/tickets/{ticket_id}/time-entries")
def add_time_entry(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    ticket_id: str,
    minutes: TextForm = "",
    note: TextForm = "",
) -> Response:
    tid = parse_id(ticket_id, "ticket")
    try:
        try:
            count = int(minutes.strip())
        except ValueError:
            raise InvalidInput("minutes must be a whole number", field="minutes") from None
        c.tickets.add_time_entry(session.principal, tid, count, lookups.printable(note, "note"))
    except InvalidInput as exc:
        form = {"body": "", "minutes": minutes, "note": note}
        return _ticket_page(request, c, session, tid, 422, exc.message, form)
    return redirect(request, f"/tickets/{tid}#time", flash=f"{count} minutes booked.")


@router.post("/tickets/{ticket_id}/status")
def update_ticket(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    ticket_id: str,
    status_id: TextForm = "",
    priority_id: TextForm = "",
) -> Response:
    tid = parse_id(ticket_id, "ticket")
    try:
        changes: dict[str, Any] = {"priority_id": lookups.optional_id(priority_id, "priority_id")}
        new_status = lookups.optional_id(status_id, "status_id")
        if new_status is not None:
            changes["status_id"] = new_status
        before = c.tickets.get(session.principal, tid).ticket
        after = c.tickets.update(session.principal, tid, changes).ticket
    except (InvalidInput, Conflict) as exc:
        return _ticket_page(request, c, session, tid, STATUS[type(exc)], exc.message)
    if after.is_closed != before.is_closed:
        done = "closed" if after.is_closed else "reopened"
    else:
        done = "updated"
    return redirect(request, f"/tickets/{tid}", flash=f"Ticket #{after.number} {done}.")
