"""POST /api/v1/webhooks/{integration_id}: where RMM tools deliver alerts."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from fleetward.domain.alerts import IngestResult
from fleetward.domain.errors import Unauthenticated
from fleetward.entrypoints.http.deps import container_of
from fleetward.entrypoints.http.errors import error_response
from fleetward.services.webhooks import IntegrationDisabled

router = APIRouter(tags=["webhooks"])


class WebhookResult(BaseModel):
    result: IngestResult
    alert_id: uuid.UUID | None


class WebhookAnswerOut(WebhookResult):
    results: list[WebhookResult]


@router.post(
    "/api/v1/webhooks/{integration_id}",
    response_model=WebhookAnswerOut,
    responses={
        400: {"description": "Unparseable or invalid body (kept as a dead letter)"},
        401: {"description": "Unknown integration or wrong secret"},
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
async def receive_webhook(request: Request) -> Any:
    """Authenticate with `X-Fleetward-Token: <secret>`, `Authorization: Bearer <secret>` or
    `X-Fleetward-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""
    # The container straight from the app, not through Depends: the busiest route
    # skips FastAPI's dependency solving.
    c = container_of(request)
    try:
        parsed = uuid.UUID(request.path_params["integration_id"])
    except ValueError:
        raise Unauthenticated("unknown integration or wrong secret") from None
    body = await request.body()
    headers = dict(request.headers)  # Starlette already lower-cases header names
    try:
        answer = await c.webhooks.receive_async(parsed, body, headers)
    except IntegrationDisabled as error:
        return error_response(403, error.code, error.message)
    reply = {
        "result": answer.outcome.result.value,
        "alert_id": answer.outcome.alert_id,
        "results": [{"result": o.result.value, "alert_id": o.alert_id} for o in answer.outcomes],
    }
    return Response(orjson.dumps(reply), media_type="application/json")
