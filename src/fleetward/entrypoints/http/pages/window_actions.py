"""What admins do to a maintenance window while the work runs: end it now, or extend
it (by 30 min, 1 h or 4 h, or to a chosen end), from the windows list and the
window's page. What each means for a weekly window: MaintenanceService.end_now and
extend.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.domain.display_time import wall_clock
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.maintenance import MaintenanceWindow
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import lookups
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    parse_id,
    reader_zone,
    redirect,
)

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]
# What the Extend menus offer, in minutes, with their words.
EXTENSIONS = {"30": "30 min", "60": "1 h", "240": "4 h"}


def _back(back: str, window: MaintenanceWindow) -> str:
    """The window's page when the form came from it, else the list at its row."""
    if back == "edit":
        return f"/maintenance/{window.id}/edit"
    return f"/maintenance#window-{window.id}"


@router.post("/maintenance/{window_id}/end-now")
def end_now(
    request: Request, c: ContainerDep, session: FormSessionDep, window_id: str, back: TextForm = ""
) -> Response:
    session.principal.require(Access.ADMIN)
    window = c.maintenance.end_now(session.principal, parse_id(window_id, "maintenance window"))
    # A weekly window with more to come starts again later (its starts_at moved ahead).
    resumes = window.recurrence is not None and window.starts_at is not None
    if resumes and window.starts_at is not None and window.starts_at > c.maintenance.clock():
        done = "ended until its next occurrence"
    else:
        done = "ended"
    return redirect(request, _back(back, window), flash=f"Window “{window.name}” {done}.")


@router.post("/maintenance/{window_id}/extend")
def extend(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    window_id: str,
    by: TextForm = "",
    until: TextForm = "",
    back: TextForm = "",
) -> Response:
    """`by` one of EXTENSIONS (minutes), or `until` a date and time on the reader's clock."""
    who = session.principal
    who.require(Access.ADMIN)
    wid = parse_id(window_id, "maintenance window")
    if until.strip():
        zone = reader_zone(request, session)
        end = lookups.local_to_utc(until, zone.key, "until")
        window = c.maintenance.extend(who, wid, until=end)
    elif by in EXTENSIONS:
        window = c.maintenance.extend(who, wid, by=timedelta(minutes=int(by)))
    else:
        raise InvalidInput("choose how long to extend by, or an end", field="by")
    assert window.ends_at is not None  # an extension is a one-off window
    if window.id != wid:
        flash = f"Window “{window.name}” added: this occurrence now runs until"
    else:
        flash = f"Window “{window.name}” now runs until"
    flash += f" {wall_clock(window.ends_at, reader_zone(request, session))}."
    return redirect(request, _back(back, window), flash=flash)
