"""What people do to a ticket besides commenting and booking time: assign it (to
themselves or a colleague, from the ticket's page or the tickets list) and edit its
title and description. Its history on its page: pages/ticket_history.py.

Every post carries the session's CSRF token; read-only users see no forms and the
service refuses their posts (403).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access, Principal
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import lookups
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    parse_id,
    redirect,
    safe_next,
)
from fleetward.entrypoints.http.pages.tickets import _ticket_page

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]


def _back(value: str, ticket_id: uuid.UUID) -> str:
    """Where a form sent from the tickets list returns (its filters kept), else the ticket."""
    fallback = f"/tickets/{ticket_id}"
    if not value.startswith("/tickets"):
        return fallback
    target = safe_next(value)
    return target if target.startswith("/tickets") else fallback


@router.post("/tickets/{ticket_id}/assign")
def assign(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    ticket_id: str,
    assignee_id: TextForm = "",
    me: TextForm = "",
    back: TextForm = "",
) -> Response:
    """`me` (the "Assign to me" button) or `assignee_id` (a colleague; empty: nobody)."""
    who = session.principal
    who.require(Access.WRITE)
    tid = parse_id(ticket_id, "ticket")
    try:
        chosen = who.user_id if me else lookups.optional_id(assignee_id, "assignee_id")
        ticket = c.tickets.update(who, tid, {"assignee_id": chosen}).ticket
    except InvalidInput as exc:
        return _ticket_page(request, c, session, tid, 422, exc.message)
    if chosen is None:
        done = "unassigned"
    elif chosen == who.user_id:
        done = "assigned to you"
    else:
        done = f"assigned to {_name_of(c, who, chosen)}"
    return redirect(request, _back(back, tid), flash=f"Ticket #{ticket.number} {done}.")


def _name_of(c: ContainerDep, who: Principal, user_id: uuid.UUID) -> str:
    found = next((u for u in lookups.users(c, who) if u.id == user_id), None)
    return (found.display_name or found.email) if found else "a colleague"


@router.post("/tickets/{ticket_id}/edit")
def edit(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    ticket_id: str,
    title: TextForm = "",
    description: TextForm = "",
) -> Response:
    who = session.principal
    who.require(Access.WRITE)
    tid = parse_id(ticket_id, "ticket")
    # Browsers send a textarea's line breaks as CRLF; the API's text keeps LF.
    text = description.replace("\r\n", "\n")
    try:
        changes = {"title": title, "description": lookups.printable(text, "description")}
        ticket = c.tickets.update(who, tid, changes).ticket
    except InvalidInput as exc:
        form = {"body": "", "minutes": "", "note": "", "title": title, "description": text}
        return _ticket_page(request, c, session, tid, 422, exc.message, form)
    return redirect(request, f"/tickets/{tid}", flash=f"Ticket #{ticket.number} saved.")
