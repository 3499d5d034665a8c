"""POST /api/v1/webhooks/{integration_id}: where RMM tools deliver alerts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from fleetward.bootstrap import Container
from fleetward.domain.alerts import IngestResult
from fleetward.domain.errors import Unauthenticated
from fleetward.entrypoints.http.deps import container_of
from fleetward.entrypoints.http.errors import error_response, response_for
from fleetward.services.webhooks import IntegrationDisabled

router = APIRouter(tags=["webhooks"])
WEBHOOK_PREFIX = "/api/v1/webhooks/"
WEBHOOK_PATH = WEBHOOK_PREFIX + "{integration_id}"


class WebhookResult(BaseModel):
    result: IngestResult
    alert_id: uuid.UUID | None


class WebhookAnswerOut(WebhookResult):
    results: list[WebhookResult]


@router.post(
    WEBHOOK_PATH,
    response_model=WebhookAnswerOut,
    responses={
        400: {"description": "Unparseable or invalid body (kept as a dead letter)"},
        401: {"description": "Unknown integration or wrong secret"},
        403: {"description": "The integration is disabled"},
        413: {"description": "Body over 1 MiB"},
        503: {"description": "Storage failed; retry"},
    },
    # The path parameter is read from the request rather than declared, so
    # FastAPI does not validate it on the busiest route; documented here.
    openapi_extra={
        "parameters": [
            {
                "name": "integration_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "title": "Integration Id"},
            }
        ]
    },
)
async def receive_webhook(request: Request) -> Response:
    """Authenticate with `X-Fleetward-Token: <secret>`, `Authorization: Bearer <secret>` or
    `X-Fleetward-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""
    # Served by WebhookIntake below; reached through FastAPI only when the
    # path is not in the plain form it takes (behind a root path, say).
    return await answer(
        container_of(request),
        request.path_params["integration_id"],
        await request.body(),
        dict(request.headers),  # Starlette already lower-cases header names
    )


async def answer(
    container: Container, integration_id: str, body: bytes, headers: Mapping[str, str]
) -> Response:
    """The answer to one delivery; domain and storage errors are raised."""
    try:
        parsed = uuid.UUID(integration_id)
    except ValueError:
        raise Unauthenticated("unknown integration or wrong secret") from None
    try:
        outcome = await container.webhooks.receive_async(parsed, body, headers)
    except IntegrationDisabled as error:
        return error_response(403, error.code, error.message)
    reply = {
        "result": outcome.outcome.result.value,
        "alert_id": outcome.outcome.alert_id,
        "results": [{"result": o.result.value, "alert_id": o.alert_id} for o in outcome.outcomes],
    }
    return Response(orjson.dumps(reply), media_type="application/json")


class WebhookIntake:
    """ASGI middleware: POST /api/v1/webhooks/{id} straight to `answer`.

    RMM tools deliver in bursts, and on this route FastAPI's routing, request
    object and exception middleware cost more than the rest of a duplicate's
    answer. Everything else, and any path not in the plain form, goes on to
    the app. Sits inside the body-size limit and the metrics, which see these
    requests as the route's; errors are answered as the app's handlers
    answer them (errors.response_for).
    """

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self.route = next(
            route for route in router.routes if getattr(route, "path", None) == WEBHOOK_PATH
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        integration_id = path[len(WEBHOOK_PREFIX) :]
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not path.startswith(WEBHOOK_PREFIX)
            or not integration_id
            or "/" in integration_id
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route  # what the metrics and access log name it by
        body = await _body(receive)
        if body is None:
            return  # the sender went away before it finished sending
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        try:
            response = await answer(self.container, integration_id, body, headers)
        except Exception as error:
            response = response_for(error)
        await response(scope, receive, send)


async def _body(receive: Receive) -> bytes | None:
    """The whole request body; None if the client disconnected first. (The size
    limit's receive raises its 413 from here, for the middleware outside.)"""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
