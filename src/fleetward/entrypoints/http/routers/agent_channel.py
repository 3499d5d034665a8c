"""The agents' control channel (WebSocket) and the event-log query people send through it.

`GET /api/v1/agent/ws` takes the agent's key as `Authorization: Bearer fwa_...`
on the upgrade request; docs/agent-protocol.md says what travels on it.
`GET /api/v1/agents/{id}/eventlog` takes a person's API key or session.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from fleetward.bootstrap import Container
from fleetward.domain.agent_config import QUERY_LIMIT_DEFAULT, QUERY_LIMIT_MAX, EventLogQuery
from fleetward.domain.errors import Unauthenticated
from fleetward.domain.eventlog import MinLevel
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.errors import error_response
from fleetward.entrypoints.http.schemas import Text
from fleetward.services.agent_control import CLOSE_PROTOCOL

channel = APIRouter(prefix="/api/v1/agent", tags=["agent"])
eventlog = APIRouter(prefix="/api/v1/agents", tags=["agents"])

_BEARER = "bearer "


class _Socket:
    """Starlette's WebSocket as the hub's AgentSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def receive(self) -> str | bytes | None:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"")

    async def send_text(self, text: str) -> None:
        await self.websocket.send_text(text)

    async def close(self, code: int, reason: str) -> None:
        await self.websocket.close(code, reason)


async def _refuse(websocket: WebSocket, message: str) -> None:
    """Refuse the upgrade with HTTP 403 (the protocol's answer to a bad key)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(403, "unauthenticated", message))
    else:
        await websocket.close(CLOSE_PROTOCOL, message)  # servers answer this with a 403


@channel.websocket("/ws")
async def control_channel(websocket: WebSocket) -> None:
    c: Container = websocket.app.state.container
    header = websocket.headers.get("authorization", "")
    key = header[len(_BEARER) :].strip() if header.lower().startswith(_BEARER) else ""
    if not key:
        await _refuse(websocket, "send the agent key as Authorization: Bearer")
        return
    try:
        agent = await run_in_threadpool(c.agents.authenticate_agent, key)
    except Unauthenticated as error:
        await _refuse(websocket, error.message)
        return
    await websocket.accept()
    await c.control.serve(agent, key, _Socket(websocket))


# The on-demand event-log viewer

_TIME_HELP = "ISO 8601 with a zone (2025-03-01T08:00:00Z)"


@eventlog.get(
    "/{agent_id}/eventlog",
    responses={
        200: {
            "description": "The matching records, newest first (docs/agent-protocol.md)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["items"],
                        "properties": {"items": {"type": "array", "items": {"type": "object"}}},
                    }
                }
            },
        },
        409: {"description": "The agent is not connected (or is revoked)"},
        429: {"description": "The agent already runs as many commands as it may"},
        502: {"description": "The agent could not run the query, or answered nonsense"},
        504: {"description": "The agent did not answer within 15 s"},
    },
)
async def query_eventlog(
    agent_id: uuid.UUID,
    c: ContainerDep,
    who: PrincipalDep,
    log: Annotated[
        Text,
        Query(
            min_length=1,
            max_length=256,
            description="Event log (System, Security ...); on Linux a unit or `journal`",
        ),
    ],
    level: Annotated[MinLevel | None, Query(description="Minimum level")] = None,
    event_id: Annotated[int | None, Query(ge=0, le=0xFFFF)] = None,
    source: Annotated[
        Text | None, Query(max_length=256, description="Provider (Linux: SYSLOG_IDENTIFIER)")
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description=f"Inclusive; {_TIME_HELP}")] = None,
    until: Annotated[AwareDatetime | None, Query(description=f"Exclusive; {_TIME_HELP}")] = None,
    limit: Annotated[int, Query(ge=1, le=QUERY_LIMIT_MAX)] = QUERY_LIMIT_DEFAULT,
) -> Any:
    """Read one machine's event log now, through its agent (operators and admins).

    Relayed to the agent as an `eventlog.query` command; answered within 15 s.
    """
    query = EventLogQuery(log, level, event_id, source, since, until, limit)
    items = await c.control.query_eventlog(who, agent_id, query)
    return JSONResponse({"items": items})
