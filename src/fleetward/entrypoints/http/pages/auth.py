"""Logging in and out of the dashboard."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from fleetward.domain.errors import RateLimited, Unauthenticated
from fleetward.domain.tokens import same_secret
from fleetward.entrypoints.http.deps import (
    SESSION_COOKIE,
    ContainerDep,
    client_address,
    session_of,
)
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    clear_cookie,
    redirect,
    render,
    safe_next,
    set_cookie,
)

router = APIRouter(route_class=PageRoute)

# The login form has no session to tie a CSRF token to, so it uses a
# double-submit cookie: a cross-site page can post the form but cannot read or
# set this cookie, so it cannot make the field match it (login CSRF would
# otherwise sign a victim into the attacker's account).
LOGIN_CSRF_COOKIE = "fw_login_csrf"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,128}")

NextQuery = Annotated[str, Query(alias="next")]
NextForm = Annotated[str, Form(alias="next")]


def _login_page(
    request: Request,
    next_path: str,
    status_code: int = 200,
    email: str = "",
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    # Reuse a well-formed token so two open login tabs both keep working.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not _TOKEN_SHAPE.fullmatch(token):
        token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        None,
        status_code,
        login_csrf=token,
        next_path=safe_next(next_path),
        email=email,
        error=error,
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=None)
    response.headers.update(headers or {})
    return response


@router.get("/login")
def login_form(request: Request, c: ContainerDep, next_path: NextQuery = "") -> Response:
    if session_of(request, c) is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    return _login_page(request, next_path)


@router.post("/login")
def login(
    request: Request,
    c: ContainerDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_path: NextForm = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not csrf_token or not same_secret(cookie, csrf_token):
        message = "The login form expired or was sent from elsewhere; please log in again."
        return _login_page(request, next_path, 403, email, message)
    try:
        _, new = c.identity.login(email, password, client_address(request, c))
    except Unauthenticated:
        return _login_page(request, next_path, 401, email, "wrong e-mail address or password")
    except RateLimited as exc:
        retry = str(c.settings.login_window_seconds)
        return _login_page(request, next_path, 429, email, exc.message, {"Retry-After": retry})
    # A browser that still holds an older session gives it up.
    if old := request.cookies.get(SESSION_COOKIE):
        c.identity.logout(old)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    max_age = max(0, int((new.expires_at - datetime.now(UTC)).total_seconds()))
    set_cookie(request, response, SESSION_COOKIE, new.token, max_age)
    clear_cookie(request, response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, c: ContainerDep, _session: FormSessionDep) -> Response:
    c.identity.logout(request.cookies.get(SESSION_COOKIE, ""))
    response = redirect(request, "/login", flash="You have logged out.")
    clear_cookie(request, response, SESSION_COOKIE)
    return response
