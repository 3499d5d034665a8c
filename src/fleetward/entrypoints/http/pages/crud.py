"""The skeleton the editable settings pages share (clients, rules, windows, watches).

Each kind of object is edited at PATH/{id}/edit and deleted at PATH/{id}/delete,
where GET asks for confirmation on a page of its own (it works without
scripts, unlike a JS confirm()) and POST deletes. What differs between kinds
is data: a `Kind` says it, and `add_edit_and_delete_routes` registers the
handlers. Reading a form stays in each page module, which knows its fields;
`save` is what follows: write, or show the form again with every field's error.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access, Principal
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import lookups
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    SessionDep,
    parse_id,
    redirect,
    render,
)
from fleetward.services.identity import SessionInfo

T = TypeVar("T")

Lookup = Callable[[Container], Callable[[Principal, uuid.UUID], Any]]


@dataclass(frozen=True)
class Confirmation:
    """The delete page's words: a heading, and the sentence around the object's name."""

    active: str  # the navigation entry shown as current
    title: str  # the page title, before the name
    heading: str
    before: str  # the sentence up to the name ...
    after: str  # ... and after it


@dataclass(frozen=True)
class Kind(Generic[T]):
    path: str  # "/watches": the list, and the prefix of each object's pages
    param: str  # the id's name in the path ("watch_id")
    noun: str  # what a malformed id is said not to be ("watch rule")
    label: str  # how the flash message names it ("Watch rule")
    access: Access  # who may edit and delete (the service checks again)
    get: Lookup  # the service's lookup, e.g. lambda c: c.watches.get
    delete: Lookup
    name: Callable[[T], str]
    confirmation: Confirmation
    # Where the list shows it, after "#", for `save` to open the list there.
    anchor: Callable[[T], str] | None = None

    def fetch(self, c: Container, session: SessionInfo, object_id: str) -> T:
        found: T = self.get(c)(session.principal, parse_id(object_id, self.noun))
        return found


EditPage = Callable[[Request, Container, SessionInfo, T], Response]


def field_of(exc: InvalidInput) -> str:
    """The form input a service's refusal goes next to (the name when it names none)."""
    return lookups.short_field(exc.field) or "name"


def save(
    request: Request,
    kind: Kind[T],
    existing: T | None,
    errors: dict[str, str],
    write: Callable[[T | None], T],
    form_again: Callable[[dict[str, str]], Response],
    field: Callable[[InvalidInput], str] = field_of,
) -> Response:
    """After the form was read into `errors` (empty: nothing wrong): `write` creates
    (`existing` None) or updates, and the list opens at what was saved; else the
    form comes again with every error, the service's own included."""
    if not errors:
        try:
            saved = write(existing)
        except InvalidInput as exc:
            errors[field(exc)] = lookups.reason(exc)
    if errors:
        return form_again(errors)
    done = "created" if existing is None else "saved"
    there = kind.path if kind.anchor is None else f"{kind.path}#{kind.anchor(saved)}"
    return redirect(request, there, flash=f"{kind.label} “{kind.name(saved)}” {done}.")


def add_edit_and_delete_routes(router: APIRouter, kind: Kind[T], edit_page: EditPage[T]) -> None:
    """GET PATH/{id}/edit (the form, filled in), and the confirm-then-delete pair."""
    # The id keeps its own name in the path ("{watch_id}"), as the page modules'
    # other routes and the authorisation matrix name it; handlers read it by that name.
    one = f"{kind.path}/{{{kind.param}}}"

    def object_id(request: Request) -> uuid.UUID:
        return parse_id(request.path_params[kind.param], kind.noun)

    @router.get(f"{one}/edit")
    def edit_form(request: Request, c: ContainerDep, session: SessionDep) -> Response:
        # Anyone who may not edit is told so rather than shown a dead form.
        session.principal.require(kind.access)
        found = kind.get(c)(session.principal, object_id(request))
        return edit_page(request, c, session, found)

    @router.get(f"{one}/delete")
    def delete_form(request: Request, c: ContainerDep, session: SessionDep) -> Response:
        session.principal.require(kind.access)
        oid = object_id(request)
        found = kind.get(c)(session.principal, oid)
        return render(
            request,
            "confirm_delete.html",
            session,
            confirm=kind.confirmation,
            path=kind.path,
            object_id=oid,
            object_name=kind.name(found),
        )

    @router.post(f"{one}/delete")
    def delete(request: Request, c: ContainerDep, session: FormSessionDep) -> Response:
        oid = object_id(request)
        found = kind.get(c)(session.principal, oid)
        kind.delete(c)(session.principal, oid)
        return redirect(request, kind.path, flash=f"{kind.label} “{kind.name(found)}” deleted.")
