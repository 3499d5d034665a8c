"""The clients pages: list, create, edit, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.pagination import DEFAULT_LIMIT, Page
from fleetward.domain.tenancy import CLIENT_PAGE_SORT, CLIENT_SORTS, Client, clean_name
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.errors import STATUS
from fleetward.entrypoints.http.pages import crud, lookups
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

router = APIRouter(route_class=PageRoute)

NameForm = Annotated[str, Form()]
NotesForm = Annotated[str, Form()]
NAME_FILTER_MAX = 100  # the API's filter length


def _message(exc: InvalidInput | Conflict, name: str) -> str:
    # The storage layer's wording is generic; a person wants to know which name.
    if isinstance(exc, Conflict) and exc.field == "name":
        try:
            return f"A client named “{clean_name(name)}” already exists."
        except InvalidInput:
            pass
    return exc.message


def _list_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    query: dict[str, str] | None = None,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The list as `query` (name, sort, limit, cursor) asks, with the new-client form."""
    asked = query or {}
    filters = {"name": asked.get("name", "").strip()}
    cursor = asked.get("cursor", "")
    page: Page[Client] = Page([], None, 0)
    order, size = CLIENT_PAGE_SORT, DEFAULT_LIMIT
    try:
        order, size = list_params(
            asked.get("sort", ""), asked.get("limit", ""), CLIENT_SORTS, CLIENT_PAGE_SORT
        )
        name = lookups.printable(filters["name"], "name") or None
        if name and len(name) > NAME_FILTER_MAX:
            raise InvalidInput(f"name must be at most {NAME_FILTER_MAX} characters", field="name")
        page = c.clients.list_clients(session.principal, size, cursor or None, order, name)
    except InvalidInput as exc:
        error, status_code = exc.message, 422
    view = ListView("/clients", filters, order, CLIENT_PAGE_SORT, size, cursor, page, "clients")
    return render(
        request,
        "clients.html",
        session,
        status_code,
        view=view,
        page=page,
        filters=filters,
        error=error,
        form=form or {"name": "", "notes": ""},
    )


def _edit_page(
    request: Request,
    session: SessionInfo,
    client: Client,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "client_edit.html",
        session,
        status_code,
        client=client,
        error=error,
        form=form or {"name": client.name, "notes": client.notes},
    )


CLIENTS: crud.Kind[Client] = crud.Kind(
    path="/clients",
    param="client_id",
    noun="client",
    label="Client",
    access=Access.WRITE,
    get=lambda c: c.clients.get_client,
    delete=lambda c: c.clients.delete_client,
    name=lambda client: client.name,
    confirmation=crud.Confirmation(
        active="clients",
        title="Delete",
        heading="Delete client?",
        before="This deletes ",
        # What the schema's cascades take with it, and what stays.
        after=(
            " with its sites and their agents and enrolment tokens, and the maintenance"
            " windows and integration mappings that name it. Its alerts and tickets stay,"
            " without a client. It cannot be undone."
        ),
    ),
)


@router.get("/clients")
def list_clients(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    name: str = "",
    sort: str = "",
    limit: str = "",
    cursor: str = "",
) -> Response:
    query = {"name": name, "sort": sort, "limit": limit, "cursor": cursor}
    return _list_page(request, c, session, query)


@router.post("/clients")
def create_client(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    name: NameForm = "",
    notes: NotesForm = "",
) -> Response:
    try:
        created = c.clients.create_client(session.principal, name, notes)
    except (InvalidInput, Conflict) as exc:
        form = {"name": name, "notes": notes}
        status = STATUS[type(exc)]
        return _list_page(request, c, session, None, status, _message(exc, name), form)
    return redirect(request, "/clients", flash=f"Client “{created.name}” created.")


@router.post("/clients/{client_id}/edit")
def edit_client(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    client_id: str,
    name: NameForm = "",
    notes: NotesForm = "",
) -> Response:
    cid = parse_id(client_id, "client")
    try:
        updated = c.clients.update_client(session.principal, cid, name, notes)
    except (InvalidInput, Conflict) as exc:
        client = c.clients.get_client(session.principal, cid)
        form = {"name": name, "notes": notes}
        return _edit_page(request, session, client, STATUS[type(exc)], _message(exc, name), form)
    return redirect(request, "/clients", flash=f"Client “{updated.name}” saved.")


crud.add_edit_and_delete_routes(
    router, CLIENTS, lambda request, c, session, client: _edit_page(request, session, client)
)
