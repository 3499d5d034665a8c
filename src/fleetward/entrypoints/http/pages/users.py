"""The users page (admins only): list, create, change role, disable and enable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Role
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
from fleetward.services.identity import SessionInfo, parse_role

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]
_DISABLED = {"true": True, "false": False}


def _users_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    cursor: str | None = None,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    # list_users needs the admin role: anyone else gets the 403 page from here.
    page = c.identity.list_users(session.principal, None, cursor)
    return render(
        request,
        "users.html",
        session,
        status_code,
        page=page,
        cursor=cursor,
        roles=list(Role),
        error=error,
        form=form or {"email": "", "display_name": "", "role": Role.OPERATOR.value},
    )


@router.get("/users")
def list_users(
    request: Request, c: ContainerDep, session: SessionDep, cursor: str | None = None
) -> Response:
    return _users_page(request, c, session, cursor or None)


@router.post("/users")
def create_user(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    email: TextForm = "",
    display_name: TextForm = "",
    role: TextForm = "",
    password: TextForm = "",
) -> Response:
    who = session.principal
    try:
        user = c.identity.create_user(
            who, who.tenant_id, email, parse_role(role), password, display_name
        )
    except (InvalidInput, Conflict) as exc:
        # The password is not sent back: it would sit in the page's HTML.
        form = {"email": email, "display_name": display_name, "role": role}
        return _users_page(request, c, session, None, STATUS[type(exc)], exc.message, form)
    return redirect(request, "/users", flash=f"User {user.email} created as {user.role.value}.")


@router.post("/users/{user_id}")
def update_user(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    user_id: str,
    role: TextForm = "",
    disabled: TextForm = "",
) -> Response:
    uid = parse_id(user_id, "user")
    try:
        new_role = parse_role(role) if role else None
        if disabled and disabled not in _DISABLED:
            raise InvalidInput("disabled must be true or false", field="disabled")
        new_disabled = _DISABLED.get(disabled)
        if new_role is None and new_disabled is None:
            raise InvalidInput("nothing to change: choose a role, or disable or enable")
        user = c.identity.update_user(session.principal, uid, role=new_role, disabled=new_disabled)
    except (InvalidInput, Conflict) as exc:
        return _users_page(request, c, session, None, STATUS[type(exc)], exc.message)
    if new_disabled is not None:
        done = "disabled" if user.disabled else "enabled"
    else:
        done = f"now {user.role.value}"
    return redirect(request, "/users", flash=f"User {user.email} is {done}.")
