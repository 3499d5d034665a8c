"""POST /api/v1/webhooks/{integration_id}: where RMM tools deliver alerts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from fleetward.bootstrap import Container
from fleetward.domain.alerts import IngestResult
from fleetward.domain.errors import Unauthenticated
from fleetward.entrypoints.http.deps import container_of
from fleetward.entrypoints.http.errors import error_response
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
    # Served by app.WebhookShortPath; reached through FastAPI only when the
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
        outcome = await container.webhooks.receive(parsed, body, headers)
    except IntegrationDisabled as error:
        return error_response(403, error.code, error.message)
    reply = {
        "result": outcome.outcome.result.value,
        "alert_id": outcome.outcome.alert_id,
        "results": [{"result": o.result.value, "alert_id": o.alert_id} for o in outcome.outcomes],
    }
    return Response(orjson.dumps(reply), media_type="application/json")
