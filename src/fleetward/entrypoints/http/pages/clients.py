"""The clients pages: list, create, edit, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.tenancy import Client, clean_name
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.errors import STATUS
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    parse_id,
    redirect,
    render,
)
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)

NameForm = Annotated[str, Form()]
NotesForm = Annotated[str, Form()]


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
    cursor: str | None = None,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    page = c.clients.list_clients(session.principal, None, cursor)
    return render(
        request,
        "clients.html",
        session,
        status_code,
        page=page,
        cursor=cursor,
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


@router.get("/clients")
def list_clients(
    request: Request, c: ContainerDep, session: SessionDep, cursor: str | None = None
) -> Response:
    return _list_page(request, c, session, cursor or None)


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


@router.get("/clients/{client_id}/edit")
def edit_client_form(
    request: Request, c: ContainerDep, session: SessionDep, client_id: str
) -> Response:
    # Read-only users have nothing to edit; they are told so rather than shown a dead form.
    session.principal.require(Access.WRITE)
    client = c.clients.get_client(session.principal, parse_id(client_id, "client"))
    return _edit_page(request, session, client)


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


@router.get("/clients/{client_id}/delete")
def delete_client_form(
    request: Request, c: ContainerDep, session: SessionDep, client_id: str
) -> Response:
    # A confirmation page rather than a JS confirm(): it works without scripts.
    session.principal.require(Access.WRITE)
    client = c.clients.get_client(session.principal, parse_id(client_id, "client"))
    return render(request, "client_delete.html", session, client=client)


@router.post("/clients/{client_id}/delete")
def delete_client(
    request: Request, c: ContainerDep, session: FormSessionDep, client_id: str
) -> Response:
    cid = parse_id(client_id, "client")
    client = c.clients.get_client(session.principal, cid)
    c.clients.delete_client(session.principal, cid)
    return redirect(request, "/clients", flash=f"Client “{client.name}” deleted.")
