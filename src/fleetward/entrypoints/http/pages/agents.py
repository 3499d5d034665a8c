"""The agents pages: the list with online state, enrolment tokens, one agent's overview.

A token's secret is shown once, in the answer to the post that made it (it is
kept only hashed), together with the command that enrols a machine with it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel

from fleetward.bootstrap import Container
from fleetward.domain.agents import (
    AGENT_DEFAULT_SORT,
    AGENT_SORTS,
    AGENT_STATES,
    TOKEN_HOURS_DEFAULT,
    TOKEN_HOURS_MAX,
    Agent,
)
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import fleet, lookups
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    parse_id,
    redirect,
    render,
)
from fleetward.entrypoints.http.pages.listing import ListView, list_params
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)


class TokenForm(BaseModel):
    site_id: str = ""
    name: str = ""
    expires_in_hours: str = str(TOKEN_HOURS_DEFAULT)


TokenFormDep = Annotated[TokenForm, Form()]


def server_url(request: Request, c: Container) -> str:
    """Where agents reach this server: the configured public URL, else this page's address."""
    return c.settings.base_url.rstrip("/") or str(request.base_url).rstrip("/")


def _hours(value: str) -> int:
    try:
        hours = int(value.strip())
    except ValueError:
        raise InvalidInput("give a whole number of hours", field="expires_in_hours") from None
    if not 1 <= hours <= TOKEN_HOURS_MAX:
        raise InvalidInput(f"from 1 to {TOKEN_HOURS_MAX} hours", field="expires_in_hours")
    return hours


def _list_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    query: dict[str, str] | None = None,
    form: TokenForm | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The list as `query` (state, client_id, sort, limit, cursor) asks, with the
    token form."""
    who = session.principal
    asked = query or {}
    state, cursor = asked.get("state", ""), asked.get("cursor", "")
    page: Page[Agent] = Page([], None, 0)
    counts = dict.fromkeys(AGENT_STATES, 0)
    error = "The token was not created: correct the fields marked below." if errors else None
    status_code = 422 if errors else 200
    order, size = AGENT_DEFAULT_SORT, DEFAULT_LIMIT
    # Another tenant's client is a 404, audited by the service like any other probe.
    cid = lookups.optional_id(asked.get("client_id", ""), "client_id")
    client = c.clients.get_client(who, cid) if cid else None
    try:
        if state and state not in AGENT_STATES:
            raise InvalidInput(f"state must be one of {', '.join(AGENT_STATES)}", field="state")
        order, size = list_params(
            asked.get("sort", ""), asked.get("limit", ""), AGENT_SORTS, AGENT_DEFAULT_SORT
        )
        page, counts = c.agents.list_agents(who, size, cursor or None, order, state or None, cid)
    except InvalidInput as exc:
        error, status_code = exc.message, 422
    kept = {"state": state, "client_id": asked.get("client_id", "") if client else ""}
    view = ListView("/agents", kept, order, AGENT_DEFAULT_SORT, size, cursor, page, "agents")
    sites = fleet.sites(c, who)
    tokens = c.agents.page_tokens(who, MAX_LIMIT, None).items
    return render(
        request,
        "agents.html",
        session,
        status_code,
        error=error,
        view=view,
        rows=fleet.agent_rows(c, who, page.items, sites),
        counts=counts,
        total=sum(counts.values()),
        state=state,
        states=AGENT_STATES,
        # The service's clock, which also says who is online.
        now=c.agents.clock(),
        chip_url=lambda s: view.url(state=s, cursor=None),
        client=client,
        all_clients_url=view.url(client_id=None, cursor=None),
        tokens=sorted(tokens, key=lambda t: t.created_at, reverse=True),
        site_names={s.id: s.label for s in sites},
        sites=sites,
        form=form or TokenForm(),
        errors=errors or {},
        hours_max=TOKEN_HOURS_MAX,
    )


@router.get("/agents")
def list_agents(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    state: str = "",
    sort: str = "",
    limit: str = "",
    cursor: str = "",
    client_id: str = "",
) -> Response:
    query = {"state": state, "sort": sort, "limit": limit, "cursor": cursor}
    return _list_page(request, c, session, {**query, "client_id": client_id})


@router.post("/agents/tokens")
def create_token(
    request: Request, c: ContainerDep, session: FormSessionDep, form: TokenFormDep
) -> Response:
    who = session.principal
    who.require(Access.ADMIN)
    errors = lookups.FieldErrors()
    site_id = errors.check("site_id", lookups.optional_id, form.site_id, "site_id")
    if site_id is None:
        errors.setdefault("site_id", "choose the site the machines belong to")
    hours = errors.check("expires_in_hours", _hours, form.expires_in_hours)
    name = errors.check("name", lookups.printable, form.name.strip(), "name")
    if not errors:
        try:
            token, secret = c.agents.create_token(who, site_id, name, expires_in_hours=hours)
        except InvalidInput as exc:
            errors[lookups.short_field(exc.field) or "name"] = lookups.reason(exc)
    if errors:
        return _list_page(request, c, session, form=form, errors=errors)
    site_names = {s.id: s.label for s in fleet.sites(c, who)}
    url = server_url(request, c)
    return render(
        request,
        "token_created.html",
        session,
        token=token,
        secret=secret,
        site_name=site_names.get(token.site_id, "(deleted site)"),
        server=url,
        command=f"fleetward agent run --server {url} --token {secret}",
    )


@router.post("/agents/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, c: ContainerDep, session: FormSessionDep, token_id: str
) -> Response:
    token = c.agents.revoke_token(session.principal, parse_id(token_id, "enrolment token"))
    label = token.name or token.prefix
    return redirect(request, "/agents#tokens", flash=f"Token “{label}” revoked.")


def agent_context(c: Container, session: SessionInfo, agent_id: str) -> fleet.AgentRow:
    """The agent a tab is about; another tenant's is a 404 (and audited by the service)."""
    agent = c.agents.get_agent(session.principal, parse_id(agent_id, "agent"))
    return fleet.agent_row(c, session.principal, agent)


@router.get("/agents/{agent_id}")
def show_agent(request: Request, c: ContainerDep, session: SessionDep, agent_id: str) -> Response:
    row = agent_context(c, session, agent_id)
    now = c.agents.clock()
    return render(
        request, "agent_overview.html", session, row=row, tab="overview", now=now, ago=fleet.ago
    )


@router.get("/agents/{agent_id}/revoke")
def revoke_agent_form(
    request: Request, c: ContainerDep, session: SessionDep, agent_id: str
) -> Response:
    session.principal.require(Access.ADMIN)
    row = agent_context(c, session, agent_id)
    return render(request, "agent_revoke.html", session, row=row)


@router.post("/agents/{agent_id}/revoke")
def revoke_agent(
    request: Request, c: ContainerDep, session: FormSessionDep, agent_id: str
) -> Response:
    agent = c.control.revoke_agent(session.principal, parse_id(agent_id, "agent"))
    return redirect(
        request,
        f"/agents/{agent.id}",
        flash=f"Agent “{agent.hostname}” revoked: its key no longer works.",
    )
