"""What every dashboard page shares: templates, the session, and errors as HTML pages.

The API answers errors as JSON (errors.py); a person in a browser gets a page
instead. PageRoute turns what a page handler raises into that page, so the
handlers only catch the errors they re-render a form for.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from fleetward.bootstrap import Container
from fleetward.domain.display_time import relative, wall_clock, zone_or_none
from fleetward.domain.errors import FleetwardError, InvalidInput, NotFound, StorageUnavailable
from fleetward.domain.identity import Access
from fleetward.domain.text import line_feeds, text_problem
from fleetward.entrypoints.http.deps import ContainerDep, check_csrf, session_of
from fleetward.entrypoints.http.errors import STATUS, UNEXPECTED, log
from fleetward.services.identity import SessionInfo

# pages/ -> http/ -> entrypoints/ -> fleetward/; app.py imports this package, so
# the path is computed here rather than taken from app.WEB_DIR.
TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "web" / "templates"
FLASH_COOKIE = "fw_flash"
UTC_ZONE = ZoneInfo("UTC")
ZONE_COOKIE = "fw_tz"  # the browser's IANA time zone, for people with none in their profile
LANDING = "/"  # the overview

# Pages show tenant data: keep them out of caches, frames and other origins' forms.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

ERROR_TITLES = {
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    422: "Invalid request",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Try again shortly",
}
# An error page leads back to the list its address belongs to (by the path's first
# part), so a missing ticket offers the tickets, not some fixed page.
SECTIONS = {
    "alerts": ("/alerts", "alerts"),
    "assets": ("/alerts", "alerts"),
    "triage": ("/triage", "triage"),
    "tickets": ("/tickets", "tickets"),
    "clients": ("/clients", "clients"),
    "rules": ("/rules", "rules"),
    "maintenance": ("/maintenance", "maintenance windows"),
    "integrations": ("/integrations", "integrations"),
    "agents": ("/agents", "agents"),
    "timeline": ("/timeline", "the timeline"),
    "watches": ("/watches", "log watches"),
    "users": ("/users", "users"),
    "webhook-subscriptions": ("/webhook-subscriptions", "webhook subscriptions"),
    "notifications": ("/notifications", "notifications"),
    "settings": ("/settings", "settings"),
    "search": ("/search", "search"),
}


# The page being rendered's reader clock, for macros imported without `with context`
# (`{% from "_list.html" import time_cell %}`), which see none of the page's values:
# they would otherwise show UTC to a reader in Berlin. render() sets it around the
# (synchronous) rendering of each page.
_PAGE_CLOCK: ContextVar[dict[str, Any] | None] = ContextVar("page_clock", default=None)


def _from_page(context: jinja2.runtime.Context, name: str) -> Any:
    """`tz` or `now` as render() set them, from the context or the page being rendered."""
    value = context.get(name)
    if value is None:
        page = _PAGE_CLOCK.get()
        value = page.get(name) if page else None
    if value is None:
        raise RuntimeError(f"no {name!r}: times are shown on pages made by render()")
    return value


@jinja2.pass_context
def _when(context: jinja2.runtime.Context, value: datetime, seconds: bool = False) -> str:
    """On the reader's clock (`tz`, which render() sets)."""
    return wall_clock(value, _from_page(context, "tz"), seconds)


@jinja2.pass_context
def _ago(context: jinja2.runtime.Context, value: datetime) -> str:
    return relative(value, _from_page(context, "now"))


def browser_zone(request: Request) -> ZoneInfo | None:
    """The zone static/app.js reported in the fw_tz cookie, which it percent-encodes
    ("Asia%2FTokyo"), or None."""
    return zone_or_none(unquote(request.cookies.get(ZONE_COOKIE) or ""))


def reader_zone(request: Request, session: SessionInfo | None) -> ZoneInfo:
    """The profile's time zone, else the one the browser reported (static/app.js sets
    the cookie), else UTC. Forms' date-time fields are read on this clock too."""
    chosen = session.time_zone if session else ""
    return zone_or_none(chosen) or browser_zone(request) or UTC_ZONE


def _environment() -> jinja2.Environment:
    # autoescape=True for every template whatever its suffix; StrictUndefined
    # turns a misspelt variable into an error in tests instead of a blank.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["ago"] = _ago
    return env


templates = Jinja2Templates(env=_environment())


class LoginRequired(Exception):
    """No valid session: PageRoute answers with a redirect to the login page."""


def container_of(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=container_of(request).settings.secure_cookies,
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name,
        path="/",
        httponly=True,
        samesite="lax",
        secure=container_of(request).settings.secure_cookies,
    )


def render(
    request: Request,
    name: str,
    session: SessionInfo | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A page, with the navigation for `session` and any flash message waiting."""
    flash = request.cookies.get(FLASH_COOKIE)
    principal = session.principal if session else None
    values: dict[str, Any] = {
        "principal": principal,
        "csrf_token": session.csrf_token if session else "",
        "can_write": bool(principal and principal.can(Access.WRITE)),
        "is_admin": bool(principal and principal.can(Access.ADMIN)),
        # The top bar's badge on every page.
        "unread_count": (
            container_of(request).notifications.unread_count(principal) if principal else 0
        ),
        "flash": unquote(flash) if flash else None,
        "error": None,
        # Which navigation entry to mark; page templates set their own.
        "active": "",
        # Times as this reader reads them (the `when` and `ago` filters).
        "tz": reader_zone(request, session),
        "now": datetime.now(UTC),
        **context,
    }
    clock = _PAGE_CLOCK.set({"tz": values["tz"], "now": values["now"]})
    try:
        response = templates.TemplateResponse(
            request, name, values, status_code=status_code, headers=PAGE_HEADERS
        )
    finally:
        _PAGE_CLOCK.reset(clock)
    if flash:
        clear_cookie(request, response, FLASH_COOKIE)
    return response


def render_form(
    request: Request,
    name: str,
    session: SessionInfo,
    status_code: int,
    error: InvalidInput | None,
    **context: Any,
) -> Response:
    """A page of one form (the profile, the tenant settings): render() with the
    InvalidInput its save was refused with as `error` (the message) and `error_field`
    (the field it names, which the template marks); both None on a first showing."""
    return render(
        request,
        name,
        session,
        status_code,
        error=error.message if error else None,
        error_field=error.field if error else None,
        **context,
    )


def redirect(request: Request, url: str, flash: str | None = None) -> Response:
    """303 after a form post (post/redirect/get), with a message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        # Quoted: a cookie value cannot carry arbitrary text (a client's name, say).
        set_cookie(request, response, FLASH_COOKIE, quote(flash, safe=""), max_age=60)
    return response


def back_link(path: str) -> tuple[str, str] | None:
    """(href, what) of the list `path` belongs to; None outside any, or on the list itself."""
    section = SECTIONS.get(path.strip("/").split("/", 1)[0])
    if section is None or path.rstrip("/") == section[0]:
        return None
    return section


def _session_if_any(request: Request) -> SessionInfo | None:
    """The page's session; for an address no page matched, looked up from the cookie."""
    session: SessionInfo | None = getattr(request.state, "session", None)
    if session is not None:
        return session
    try:
        return session_of(request, container_of(request))
    except FleetwardError:
        return None  # the error page goes on without the navigation


def error_page(request: Request, status_code: int, message: str) -> Response:
    """The HTML page for an error a person met, with the navigation if they are logged in
    and a way back: the list the address belongs to, and the overview."""
    session = _session_if_any(request)
    title = ERROR_TITLES.get(status_code, "Something went wrong")
    return render(
        request,
        "error.html",
        session,
        status_code,
        title=title,
        message=message,
        status=status_code,
        back=back_link(request.url.path),
    )


def safe_next(value: str | None) -> str:
    """A local path to go to after logging in; anything else becomes the landing page.

    `//evil.example` and `/\\evil.example` are other hosts to a browser, so only
    a single leading slash followed by a path character is accepted.
    """
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    ):
        return LANDING
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return LANDING
    return value


def login_url(request: Request) -> str:
    # Only a GET can be replayed after logging in; a form post starts over.
    if request.method not in ("GET", "HEAD"):
        return "/login"
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?" + urlencode({"next": target})


class PageRoute(APIRoute):
    """Answers what a page handler raises with a redirect or an HTML error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return RedirectResponse(login_url(request), status_code=303)
            except StorageUnavailable:
                raise  # the app's own 503, as for every route
            except FleetwardError as exc:
                return error_page(request, STATUS.get(type(exc), 400), exc.message)
            except RequestValidationError:
                return error_page(request, 422, "The form was incomplete or malformed.")
            except HTTPException:
                raise  # the app's handlers answer these (errors.install)
            except Exception as exc:
                # A person gets a page saying so, never a trace; the log gets the trace.
                log.error("unhandled_error", exc_info=exc, path=request.url.path)
                return error_page(request, 500, UNEXPECTED)

        return page_handler


def page_session(request: Request, c: ContainerDep) -> SessionInfo:
    session = session_of(request, c)
    if session is None:
        raise LoginRequired
    # Kept for error_page, so an error still shows the navigation.
    request.state.session = session
    return session


SessionDep = Annotated[SessionInfo, Depends(page_session)]


async def form_session(
    request: Request,
    session: SessionDep,
    csrf_token: Annotated[str, Form()] = "",
) -> SessionInfo:
    """The session of a form post, which must carry the session's CSRF token.

    Every text the form holds is held to the API's rule for long text
    (domain/text.py): a NUL or another control character is refused, naming the
    field, before any handler stores it.
    """
    check_csrf(request, session, csrf_token)
    form = await request.form()  # parsed already for csrf_token; Starlette keeps it
    for field, value in form.multi_items():
        if isinstance(value, str) and (problem := text_problem(line_feeds(value), True)):
            raise InvalidInput(f"{field} {problem}", field=field)
    return session


FormSessionDep = Annotated[SessionInfo, Depends(form_session)]


def parse_id(value: str, what: str) -> uuid.UUID:
    """A malformed id names nothing, so it is as missing as an unknown one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {what}") from None
