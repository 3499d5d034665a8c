"""The profile page: a person's own time zone and display name (any role).

Times across the dashboard are shown in the profile's zone, else the browser's
(static/app.js reports it in the fw_tz cookie), else UTC (common.reader_zone).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.display_time import known_zones
from fleetward.domain.errors import InvalidInput
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    browser_zone,
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
    user = c.identity.current_user(session.principal)
    browser = browser_zone(request)
    return render_form(
        request,
        "profile.html",
        session,
        status_code,
        error,
        active="profile",
        user=user,
        form=form or {"time_zone": user.time_zone, "display_name": user.display_name},
        zones=known_zones(),
        browser_zone=browser.key if browser else "",
    )


@router.get("/profile")
def show_profile(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return _page(request, c, session)


@router.post("/profile")
def save_profile(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    time_zone: TextForm = "",
    display_name: TextForm = "",
) -> Response:
    form = {"time_zone": time_zone, "display_name": display_name}
    try:
        c.identity.update_profile(session.principal, time_zone, display_name)
    except InvalidInput as exc:
        return _page(request, c, session, 422, exc, form)
    return redirect(request, "/profile", flash="Profile saved.")
