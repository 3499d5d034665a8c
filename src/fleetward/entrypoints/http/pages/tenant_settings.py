"""The tenant settings page: reopen window and flap protection.

Every role sees the values; admins get the form (the service checks the role
and the bounds, and audits the change).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import InvalidInput
from fleetward.domain.flapping import SETTING_BOUNDS, settings_doc
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    redirect,
    render_form,
)
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]


def _page(
    request: Request,
    c: Container,
    session: SessionInfo,
    status_code: int = 200,
    error: InvalidInput | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    current = settings_doc(c.tenant_settings.get(session.principal))
    return render_form(
        request,
        "tenant_settings.html",
        session,
        status_code,
        error,
        bounds=SETTING_BOUNDS,
        form=form or {name: str(value) for name, value in current.items()},
    )


@router.get("/settings")
def show_settings(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return _page(request, c, session)


def _whole_number(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", field=name) from None


@router.post("/settings")
def save_settings(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    reopen_window_minutes: TextForm = "",
    flap_threshold: TextForm = "",
    flap_window_minutes: TextForm = "",
) -> Response:
    form = {
        "reopen_window_minutes": reopen_window_minutes,
        "flap_threshold": flap_threshold,
        "flap_window_minutes": flap_window_minutes,
    }
    try:
        changes = {name: _whole_number(name, text) for name, text in form.items()}
        c.tenant_settings.update(session.principal, changes)
    except InvalidInput as exc:
        return _page(request, c, session, 422, exc, form)
    return redirect(request, "/settings", flash="Tenant settings saved.")
