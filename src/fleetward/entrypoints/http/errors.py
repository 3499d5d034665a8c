"""Every error answers {"error": {"code", "message", "field"}} and never leaks a trace."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from fleetward.domain import errors
from fleetward.services.agent_control import AgentFailed, AgentOffline, AgentTimedOut

STATUS = {
    errors.NotFound: 404,
    errors.Forbidden: 403,
    errors.Unauthenticated: 401,
    errors.Conflict: 409,
    errors.InvalidInput: 422,
    errors.RateLimited: 429,
    errors.StorageUnavailable: 503,
    AgentOffline: 409,
    AgentFailed: 502,
    AgentTimedOut: 504,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    502: "bad_gateway",
    504: "gateway_timeout",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return {"error": body}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    all_headers = dict(headers or {})
    if status == 401:
        all_headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(code, message, field), status_code=status, headers=all_headers)


def _field_of(err: Mapping[str, Any]) -> str:
    loc = tuple(err.get("loc", ()))
    if err.get("type") == "json_invalid":
        # The location of a JSON syntax error is a character offset, not a field.
        return "body"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    if not parts and loc[:1] == ("body",):
        # The body as a whole: missing, or not a JSON object.
        return "body"
    return ".".join(parts)


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    problems = []
    first_field: str | None = None
    for err in exc.errors():
        field = _field_of(err)
        if first_field is None and field:
            first_field = field
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid" and (detail := err.get("ctx", {}).get("error")):
            msg = f"{msg}: {detail} at character {err['loc'][-1]}"
        problems.append(f"{field}: {msg}" if field else msg)
    return "; ".join(problems[:5]) or "invalid request", first_field


log = structlog.get_logger("fleetward.http")

UNEXPECTED = "Fleetward met an error it did not expect. It has been logged; try again shortly."
# Where the machines talk: these answer JSON whatever the client accepts.
MACHINE_PREFIXES = ("/api/", "/static/")
MACHINE_PATHS = frozenset({"/openapi.json", "/healthz", "/metrics"})

# What a person reads for Starlette's terse details ("Not Found").
PAGE_MESSAGES = {
    404: "There is no page at this address. It may have moved, or the link was mistyped.",
    405: "This address does not take that kind of request.",
}

# pages.common.error_page: (request, status, message) -> an HTML page with the navigation.
PageRenderer = Callable[[Request, int, str], Response]


def wants_page(request: Request) -> bool:
    """A person's browser asking for a page (it accepts HTML), not a machine or the API."""
    path = request.url.path
    if path.startswith(MACHINE_PREFIXES) or path in MACHINE_PATHS:
        return False
    return "text/html" in request.headers.get("accept", "")


async def _page_or(
    fallback: Response, render_page: PageRenderer | None, request: Request, message: str
) -> Response:
    """The error as a page for a person, else the JSON answer; a page that cannot be
    made (the database gone, say) falls back to the JSON rather than fail twice."""
    if render_page is None or not wants_page(request):
        return fallback
    try:
        # On a worker thread: the page reads the session and the unread count.
        page = await run_in_threadpool(render_page, request, fallback.status_code, message)
    except Exception as exc:
        log.error("error_page_failed", exc_info=exc)
        return fallback
    for name in ("allow", "retry-after", "www-authenticate"):
        if name in fallback.headers:
            page.headers[name] = fallback.headers[name]
    return page


def response_for(exc: Exception) -> JSONResponse:
    """The answer to an exception a route let through: a domain error's status,
    503 for storage (nothing was acknowledged; the caller may retry), else 500."""
    if isinstance(exc, errors.StorageUnavailable):
        # The driver's words go to the log only: they may name hosts or paths.
        log.error("storage_busy" if exc.busy else "storage_error", error=exc.detail)
    if isinstance(exc, errors.FleetwardError):
        return error_response(STATUS.get(type(exc), 400), exc.code, exc.message, exc.field)
    log.error("unhandled_error", exc_info=exc)
    return error_response(500, "internal", "internal error")


def install(app: FastAPI, render_page: PageRenderer | None = None) -> None:
    """The app's error handlers: JSON for the API and machines; with `render_page`,
    an HTML page for a person's browser on any other address (an unknown page's 404)."""

    @app.exception_handler(errors.FleetwardError)
    async def _domain(request: Request, exc: errors.FleetwardError) -> Response:
        # Pages answer their own domain errors (PageRoute); what reaches here from a
        # page is the storage's 503, shown to a person as a page too.
        return await _page_or(response_for(exc), render_page, request, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = validation_message(exc)
        return error_response(422, "invalid", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's "error parsing the body" for JSON that is not UTF-8: say which.
            return error_response(422, "invalid", "body: is not UTF-8 encoded JSON", "body")
        code = HTTP_CODES.get(exc.status_code, "error")
        # Keep the exception's headers: Allow on a 405, Connection: close on a 413.
        answer = error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)
        message = PAGE_MESSAGES.get(exc.status_code, str(exc.detail))
        return await _page_or(answer, render_page, request, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return await _page_or(response_for(exc), render_page, request, UNEXPECTED)
