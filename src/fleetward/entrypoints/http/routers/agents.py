"""Enrolment tokens and agents for people; enrolling and sending events for agents.

/api/v1/enrollment-tokens and /api/v1/agents take a person's API key or session.
/api/v1/agent/enroll takes a site's enrolment token in the body, and
/api/v1/agent/events and /api/v1/agent/matches the agent's own key as
`Authorization: Bearer fwa_...`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, Field

from fleetward.bootstrap import Container
from fleetward.domain.agents import AGENT_SORTS, TOKEN_HOURS_MAX, Agent, EnrollmentToken
from fleetward.domain.errors import Unauthenticated
from fleetward.domain.listing import Sort, parse_sort
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep, container_of
from fleetward.entrypoints.http.errors import error_response
from fleetward.entrypoints.http.routers.common import CursorQuery, Limit, SortQuery
from fleetward.entrypoints.http.schemas import In, Out, Page, Text
from fleetward.services.timeline import MAX_BATCH, BatchTooLarge, decode_body

Hostname = Annotated[Text, Field(min_length=1, max_length=255)]
OsName = Annotated[Text, Field(min_length=1, max_length=100)]
Version = Annotated[Text, Field(min_length=1, max_length=50)]


class TokenIn(In):
    site_id: uuid.UUID
    name: Annotated[Text, Field(max_length=200)] = ""
    expires_at: AwareDatetime | None = None
    expires_in_hours: int | None = Field(
        default=None, ge=1, le=TOKEN_HOURS_MAX, description="Default a week (168)"
    )


class TokenOut(Out):
    id: uuid.UUID
    site_id: uuid.UUID
    name: str
    prefix: str
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime


class TokenCreated(TokenOut):
    token: str = Field(description="Shown this once; only its hash is stored")


class AgentOut(Out):
    id: uuid.UUID
    site_id: uuid.UUID
    hostname: str
    os: str
    agent_version: str
    last_seen_at: datetime | None
    online: bool
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EnrollIn(In):
    token: Annotated[Text, Field(min_length=1, max_length=200)]
    hostname: Hostname
    os: OsName
    agent_version: Version


class EnrollOut(Out):
    agent_id: uuid.UUID
    agent_key: str = Field(description="Shown this once; only its hash is stored")


class IntakeOut(Out):
    accepted: int
    duplicates: int


tokens = APIRouter(prefix="/api/v1/enrollment-tokens", tags=["agents"])
agents = APIRouter(prefix="/api/v1/agents", tags=["agents"])
agent = APIRouter(prefix="/api/v1/agent", tags=["agent"])

_agent_key = HTTPBearer(
    auto_error=False,
    scheme_name="AgentKey",
    description="The agent's key from enrolment: `Authorization: Bearer fwa_...`",
)


_AGENT_FIELDS = tuple(name for name in AgentOut.model_fields if name != "online")


def _agent_out(c: Container, found: Agent) -> dict[str, Any]:
    values = {name: getattr(found, name) for name in _AGENT_FIELDS}
    # Connected to this server now, or seen recently (another node, a batch).
    return {**values, "online": c.control.online(found)}


# Enrolment tokens


@tokens.get("", response_model=Page[TokenOut])
def list_tokens(
    c: ContainerDep, who: PrincipalDep, limit: Limit = None, cursor: CursorQuery = None
) -> Any:
    return c.agents.page_tokens(who, limit, cursor)


@tokens.post("", status_code=201, response_model=TokenCreated)
def create_token(body: TokenIn, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """A token that enrols machines into one site until it expires; shown this once."""
    token, secret = c.agents.create_token(
        who, body.site_id, body.name, body.expires_at, body.expires_in_hours
    )
    return {**TokenOut.model_validate(token).model_dump(), "token": secret}


@tokens.get("/{token_id}", response_model=TokenOut)
def get_token(token_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> EnrollmentToken:
    return c.agents.get_token(who, token_id)


@tokens.post("/{token_id}/revoke", response_model=TokenOut)
def revoke_token(token_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> EnrollmentToken:
    """The token enrols no more machines; those it enrolled keep working."""
    return c.agents.revoke_token(who, token_id)


# Agents


# The API's order stays the order agents enrolled in; the dashboard's is by hostname.
API_AGENT_SORT = Sort("created_at")


@agents.get("", response_model=Page[AgentOut])
def list_agents(
    c: ContainerDep,
    who: PrincipalDep,
    state: Annotated[
        Literal["online", "offline", "revoked"] | None,
        Query(description="online: heard from in the last 3 minutes and not revoked"),
    ] = None,
    client_id: uuid.UUID | None = None,
    sort: SortQuery = None,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """In the order they enrolled unless `sort` says otherwise (`hostname`,
    `last_seen_at`, `os`, `site` or `created_at`, `-` before it for descending);
    `client_id` keeps the agents of that client's sites; `total` counts every match."""
    order = parse_sort(sort, AGENT_SORTS, API_AGENT_SORT)
    if client_id is not None:
        c.clients.get_client(who, client_id)  # another tenant's client: 404, audited
    page, _ = c.agents.list_agents(who, limit, cursor, order, state, client_id)
    return {
        "items": [_agent_out(c, a) for a in page.items],
        "next": page.next,
        "total": page.total,
    }


@agents.get("/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    return _agent_out(c, c.agents.get_agent(who, agent_id))


@agents.post("/{agent_id}/revoke", response_model=AgentOut)
def revoke_agent(agent_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """The agent's key stops working at once; its timeline is kept."""
    return _agent_out(c, c.control.revoke_agent(who, agent_id))


# The agent's own calls


@agent.post(
    "/enroll",
    status_code=201,
    response_model=EnrollOut,
    responses={401: {"description": "Unknown, expired or revoked enrolment token"}},
)
def enroll(body: EnrollIn, c: ContainerDep) -> EnrollOut:
    """Trade a site's enrolment token for an agent id and key (the key is shown this once)."""
    found, key = c.agents.enroll(body.token, body.hostname, body.os, body.agent_version)
    return EnrollOut(agent_id=found.id, agent_key=key)


def _batch_body(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for an agent batch `{key: [item, ...]}` of at most MAX_BATCH (the route
    reads the raw body itself: it may be gzip)."""
    batch = {"type": "array", "maxItems": MAX_BATCH, "items": item}
    schema = {"type": "object", "required": [key], "properties": {key: batch}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@agent.post(
    "/events",
    response_model=IntakeOut,
    responses={
        401: {"description": "Missing, unknown or revoked agent key"},
        413: {"description": f"More than {MAX_BATCH} events, or a body too large"},
        422: {"description": "An invalid event; the field names it (events.3.kind)"},
    },
    openapi_extra=_batch_body("events", {"type": "object"}),
)
async def post_events(
    request: Request,
    c: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_agent_key)],
) -> Any:
    """A batch of up to 5,000 timeline events, stored all or nothing before the answer.

    Body `{"events": [{"at", "kind", "source", "event_record_id"?, "payload"?}]}`,
    optionally with `Content-Encoding: gzip`. Re-sent events count as duplicates.
    """

    def take(sender: Agent, raw: bytes, encoding: str) -> dict[str, int]:
        result = c.timeline.receive_batch(sender, raw, encoding)
        return {"accepted": result.accepted, "duplicates": result.duplicates}

    return await _agent_batch(request, credentials, take)


async def _agent_batch(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    take: Callable[[Agent, bytes, str], dict[str, int]],
) -> JSONResponse:
    """An agent's data batch: the key checked, then the body as sent (and its
    Content-Encoding) `take`n by the service in the thread pool; its answer is
    the reply, a batch over the limit a 413."""
    if credentials is None:
        raise Unauthenticated("send the agent key as Authorization: Bearer")
    c = container_of(request)
    raw = await request.body()
    encoding = request.headers.get("content-encoding", "").strip().lower()

    def handle() -> dict[str, int]:
        # Authenticate before inflating: strangers' bodies cost no decompression.
        return take(c.agents.authenticate_agent(credentials.credentials), raw, encoding)

    try:
        answer = await run_in_threadpool(handle)
    except BatchTooLarge as error:
        return error_response(413, "too_large", error.message, error.field)
    return JSONResponse(answer)


class MatchesOut(Out):
    accepted: int
    duplicates: int
    ignored: int


_RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["log_name", "provider", "event_id", "level", "record_id", "time_created"],
    "properties": {
        "log_name": {"type": "string"},
        "provider": {"type": "string"},
        "event_id": {"type": "integer", "minimum": 0, "maximum": 65535},
        "level": {"type": "integer", "minimum": 0, "maximum": 255},
        "record_id": {"type": "string"},
        "time_created": {"type": "string", "format": "date-time"},
        "computer": {"type": "string"},
        "user_sid": {"type": ["string", "null"]},
        "keywords": {"type": "integer", "minimum": 0},
        "data": {"type": "object", "additionalProperties": {"type": "string"}},
        "message": {"type": "string"},
    },
}


@agent.post(
    "/matches",
    response_model=MatchesOut,
    responses={
        401: {"description": "Missing, unknown or revoked agent key"},
        413: {"description": f"More than {MAX_BATCH} matches, or a body too large"},
        422: {"description": "An invalid match; the field names it (matches.3.record.event_id)"},
    },
    openapi_extra=_batch_body(
        "matches",
        {
            "type": "object",
            "required": ["rule_id", "record"],
            "properties": {
                "rule_id": {"type": "string", "format": "uuid"},
                "record": _RECORD_SCHEMA,
            },
        },
    ),
)
async def post_matches(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_agent_key)],
) -> Any:
    """Watch-rule matches, up to 5,000: each becomes an alert through the alert pipeline.

    Body `{"matches": [{"rule_id", "record": {...}}]}`, optionally gzip. A rule that is
    not this agent's (deleted, re-scoped, another tenant's) or a record it does not
    match is counted `ignored`; a re-sent match is a duplicate.
    """
    c = container_of(request)

    def take(sender: Agent, raw: bytes, encoding: str) -> dict[str, int]:
        result = c.eventlog_alerts.intake(sender, decode_body(raw, encoding))
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "ignored": result.ignored,
        }

    return await _agent_batch(request, credentials, take)
