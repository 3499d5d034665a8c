"""One client's page: its name, its sites with their enrolment tokens, and what it
has running (agents, open alerts, open tickets).

It is where a client is onboarded in the browser: created on the clients page,
a site added here, a token made for the site, and the command that enrols a
machine shown once beside it. Sites are written by operators and admins (the
API's WRITE), tokens by admins only (as the API's). Everything is reached
through the client in the path, so another tenant's client, site or token is a
404 that the services audit as a cross-tenant attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.agents import TOKEN_HOURS_DEFAULT, TOKEN_HOURS_MAX, EnrollmentToken
from fleetward.domain.alerts import AlertFilter, AlertStatus
from fleetward.domain.errors import Conflict, InvalidInput, NotFound
from fleetward.domain.identity import Access
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.domain.tenancy import Client, Site
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.errors import STATUS
from fleetward.entrypoints.http.pages import fleet, lookups
from fleetward.entrypoints.http.pages.agents import server_url
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    parse_id,
    redirect,
    render,
)
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)

TextForm = Annotated[str, Form()]

SHORT_LIST = 5  # open alerts and tickets shown here; the filtered lists hold the rest
AGENTS_SHOWN = 10
TOKENS_SHOWN = 10  # per site, newest first; the agents page lists every token
OPEN_ALERTS = (AlertStatus.ACTIVE.value, AlertStatus.ACKNOWLEDGED.value)
# How long a new token is valid, offered as choices (the API takes any hours up to a year).
EXPIRY_CHOICES = (
    (24, "1 day"),
    (TOKEN_HOURS_DEFAULT, "1 week"),
    (24 * 30, "30 days"),
    (24 * 90, "90 days"),
    (TOKEN_HOURS_MAX, "1 year"),
)


@dataclass(frozen=True)
class SiteView:
    site: Site
    agents: int
    tokens: list[EnrollmentToken]  # newest first, at most TOKENS_SHOWN
    token_count: int


@dataclass(frozen=True)
class CreatedToken:
    """A token just made: its secret is in this one answer and nowhere else."""

    token: EnrollmentToken
    secret: str
    command: str


@dataclass
class FormState:
    """What a refused form showed, to show it again: values and errors by input id."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    status_code: int = 200

    def refuse(self, exc: InvalidInput | Conflict, input_id: str, what: str) -> FormState:
        self.errors[input_id] = _reason(exc)
        self.message = f"{what}: correct the field marked below."
        self.status_code = STATUS[type(exc)]
        return self


def _reason(exc: InvalidInput | Conflict) -> str:
    if isinstance(exc, Conflict) and exc.field == "name":
        return "that name is taken already"
    return lookups.reason(exc) if isinstance(exc, InvalidInput) else exc.message


def _client(c: Container, session: SessionInfo, client_id: str) -> Client:
    return c.clients.get_client(session.principal, parse_id(client_id, "client"))


def _site(c: Container, session: SessionInfo, client: Client, site_id: str) -> Site:
    return c.clients.get_site(session.principal, client.id, parse_id(site_id, "site"))


def _here(client: Client, anchor: str = "") -> str:
    return f"/clients/{client.id}" + (f"#{anchor}" if anchor else "")


def _sites(c: Container, session: SessionInfo, client: Client) -> list[SiteView]:
    who = session.principal
    sites: list[Site] = lookups.by_name(c.clients.list_sites(who, client.id, MAX_LIMIT, None).items)
    holdings = c.agents.holdings(who, [s.id for s in sites])
    views = []
    for site in sites:
        tokens = c.agents.page_tokens(who, MAX_LIMIT, None, site_id=site.id).items
        newest = sorted(tokens, key=lambda t: (t.created_at, str(t.id)), reverse=True)
        held = holdings[site.id]
        views.append(SiteView(site, held.agents, newest[:TOKENS_SHOWN], held.tokens))
    return views


def _agents(
    c: Container, session: SessionInfo, client: Client, sites: list[SiteView]
) -> list[fleet.AgentRow]:
    """The first AGENTS_SHOWN agents enrolled at the client's sites, by hostname."""
    who, now = session.principal, c.agents.clock()
    rows: list[fleet.AgentRow] = []
    for view in sites:
        if not view.agents:
            continue
        choice = fleet.SiteChoice(view.site.id, view.site.name, client.id, client.name)
        page = c.agents.page_agents(who, AGENTS_SHOWN, None, site_id=view.site.id)
        rows.extend(fleet.AgentRow(a, a.online(now), choice) for a in page.items)
    rows.sort(key=lambda r: (r.agent.hostname.casefold(), str(r.id)))
    return rows[:AGENTS_SHOWN]


def _page(
    request: Request,
    c: Container,
    session: SessionInfo,
    client: Client,
    state: FormState | None = None,
    created: CreatedToken | None = None,
) -> Response:
    who = session.principal
    state = state or FormState()
    sites = _sites(c, session, client)
    open_alerts = c.alerts.search(
        who, AlertFilter(statuses=OPEN_ALERTS, client_id=client.id), SHORT_LIST, None
    )
    active = c.alerts.search(
        who, AlertFilter(statuses=(AlertStatus.ACTIVE.value,), client_id=client.id), 1, None
    )
    open_tickets = c.tickets.search(who, SHORT_LIST, None, client_id=client.id, is_closed=False)
    return render(
        request,
        "client_detail.html",
        session,
        state.status_code,
        error=state.message,
        client=client,
        sites=sites,
        site_names={v.site.id: v.site.name for v in sites},
        agents=_agents(c, session, client, sites),
        agent_total=sum(v.agents for v in sites),
        open_alerts=open_alerts.items,
        open_alert_total=open_alerts.total or 0,
        active_alert_total=active.total or 0,
        open_tickets=[view.ticket for view in open_tickets.items],
        open_ticket_total=c.tickets.count(who, client_id=client.id, is_closed=False),
        values=state.values,
        errors=state.errors,
        created=created,
        expiry_choices=EXPIRY_CHOICES,
        expiry_default=TOKEN_HOURS_DEFAULT,
        may_mint=who.can(Access.ADMIN),
    )


@router.get("/clients/{client_id}")
def show_client(request: Request, c: ContainerDep, session: SessionDep, client_id: str) -> Response:
    return _page(request, c, session, _client(c, session, client_id))


@router.post("/clients/{client_id}/name")
def rename_client(
    request: Request, c: ContainerDep, session: FormSessionDep, client_id: str, name: TextForm = ""
) -> Response:
    client = _client(c, session, client_id)
    try:
        renamed = c.clients.update_client(session.principal, client.id, name, None)
    except (InvalidInput, Conflict) as exc:
        state = FormState({"client-name": name}).refuse(exc, "client-name", "Not renamed")
        return _page(request, c, session, client, state)
    return redirect(request, _here(renamed), flash=f"Client renamed to “{renamed.name}”.")


@router.post("/clients/{client_id}/sites")
def create_site(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    client_id: str,
    name: TextForm = "",
    address: TextForm = "",
) -> Response:
    client = _client(c, session, client_id)
    try:
        site = c.clients.create_site(session.principal, client.id, name, address.strip())
    except (InvalidInput, Conflict) as exc:
        state = FormState({"site-name": name, "site-address": address})
        return _page(request, c, session, client, state.refuse(exc, "site-name", "No site added"))
    return redirect(request, _here(client, f"site-{site.id}"), flash=f"Site “{site.name}” added.")


@router.post("/clients/{client_id}/sites/{site_id}/name")
def rename_site(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    client_id: str,
    site_id: str,
    name: TextForm = "",
) -> Response:
    client = _client(c, session, client_id)
    site = _site(c, session, client, site_id)
    try:
        renamed = c.clients.update_site(session.principal, client.id, site.id, name, None)
    except (InvalidInput, Conflict) as exc:
        input_id = f"site-{site.id}-name"
        state = FormState({input_id: name}).refuse(exc, input_id, f"Site “{site.name}” not renamed")
        return _page(request, c, session, client, state)
    return redirect(
        request, _here(client, f"site-{site.id}"), flash=f"Site renamed to “{renamed.name}”."
    )


@router.get("/clients/{client_id}/sites/{site_id}/delete")
def delete_site_form(
    request: Request, c: ContainerDep, session: SessionDep, client_id: str, site_id: str
) -> Response:
    # Anyone who may not delete is told so rather than shown a dead form.
    session.principal.require(Access.WRITE)
    client = _client(c, session, client_id)
    site = _site(c, session, client, site_id)
    held = c.agents.holdings(session.principal, [site.id])[site.id]
    return render(request, "site_delete.html", session, client=client, site=site, held=held)


@router.post("/clients/{client_id}/sites/{site_id}/delete")
def delete_site(
    request: Request, c: ContainerDep, session: FormSessionDep, client_id: str, site_id: str
) -> Response:
    client = _client(c, session, client_id)
    site = _site(c, session, client, site_id)
    c.clients.delete_site(session.principal, client.id, site.id)
    return redirect(request, _here(client, "sites"), flash=f"Site “{site.name}” deleted.")


def _hours(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput("choose how long the token is valid", field="expires_in_hours") from None


@router.post("/clients/{client_id}/sites/{site_id}/tokens")
def create_token(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    client_id: str,
    site_id: str,
    name: TextForm = "",
    expires_in_hours: TextForm = str(TOKEN_HOURS_DEFAULT),
) -> Response:
    who = session.principal
    client = _client(c, session, client_id)
    site = _site(c, session, client, site_id)
    prefix = f"token-{site.id}"
    values = {f"{prefix}-name": name, f"{prefix}-hours": expires_in_hours}
    try:
        hours = _hours(expires_in_hours)
        token, secret = c.agents.create_token(who, site.id, name, expires_in_hours=hours)
    except InvalidInput as exc:
        input_id = f"{prefix}-hours" if exc.field == "expires_in_hours" else f"{prefix}-name"
        state = FormState(values).refuse(exc, input_id, "No token created")
        return _page(request, c, session, client, state)
    url = server_url(request, c)
    command = f"fleetward agent run --server {url} --token {secret}"
    return _page(request, c, session, client, created=CreatedToken(token, secret, command))


@router.post("/clients/{client_id}/sites/{site_id}/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    client_id: str,
    site_id: str,
    token_id: str,
) -> Response:
    who = session.principal
    client = _client(c, session, client_id)
    site = _site(c, session, client, site_id)
    token = c.agents.get_token(who, parse_id(token_id, "enrolment token"))
    if token.site_id != site.id:
        # The tenant's own token of another site: missing here, not an intrusion.
        raise NotFound("no such enrolment token")
    revoked = c.agents.revoke_token(who, token.id)
    return redirect(
        request,
        _here(client, f"site-{site.id}"),
        flash=f"Token “{revoked.name or revoked.prefix}” revoked.",
    )
