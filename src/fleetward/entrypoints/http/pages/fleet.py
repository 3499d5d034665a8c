"""What the agent, timeline and watch-rule pages share: sites, agents and their names.

Separate from lookups.py (the alert pipeline's): these pages are about the
machines Fleetward watches itself, through its own agent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from fleetward.bootstrap import Container
from fleetward.domain.agents import Agent
from fleetward.domain.identity import Principal
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.domain.tenancy import Client, Site
from fleetward.entrypoints.http.pages import lookups


@dataclass(frozen=True, slots=True)
class SiteChoice:
    """A site as a select shows it: "Contoso / Head office"."""

    id: uuid.UUID
    name: str
    client_id: uuid.UUID
    client_name: str

    @property
    def label(self) -> str:
        return f"{self.client_name} / {self.name}"


@dataclass(frozen=True, slots=True)
class AgentRow:
    """An agent with what a list shows next to it."""

    agent: Agent
    online: bool
    site: SiteChoice | None  # None: the site was deleted since

    @property
    def id(self) -> uuid.UUID:
        return self.agent.id

    @property
    def name(self) -> str:
        # For lookups-style selects, which label items by name.
        return self.agent.hostname

    @property
    def state(self) -> str:
        if self.agent.revoked_at is not None:
            return "revoked"
        return "online" if self.online else "offline"

    @property
    def is_windows(self) -> bool:
        return is_windows(self.agent.os)


def is_windows(os_name: str) -> bool:
    return "windows" in os_name.casefold()


def sites(c: Container, who: Principal, clients: list[Client] | None = None) -> list[SiteChoice]:
    """Every site of the tenant's clients (the first MAX_LIMIT of each), by client then name."""
    found: list[SiteChoice] = []
    for client in clients if clients is not None else lookups.clients(c, who):
        page = c.clients.list_sites(who, client.id, MAX_LIMIT, None)
        found.extend(_choice(s, client) for s in lookups.by_name(page.items))
    return found


def _choice(site: Site, client: Client) -> SiteChoice:
    return SiteChoice(site.id, site.name, client.id, client.name)


def agent_rows(
    c: Container, who: Principal, agents: list[Agent], known: list[SiteChoice] | None = None
) -> list[AgentRow]:
    """`known`: the tenant's sites when the caller has them already."""
    now = c.agents.clock()
    by_id = {s.id: s for s in (known if known is not None else sites(c, who))}
    return [AgentRow(a, a.online(now), by_id.get(a.site_id)) for a in agents]


def agent_row(c: Container, who: Principal, agent: Agent) -> AgentRow:
    return agent_rows(c, who, [agent])[0]


def all_agents(c: Container, who: Principal) -> list[AgentRow]:
    """The tenant's agents for a chooser, by hostname (the first MAX_LIMIT of them)."""
    agents = c.agents.page_agents(who, MAX_LIMIT, None).items
    rows = agent_rows(c, who, agents)
    return sorted(rows, key=lambda r: (r.agent.hostname.casefold(), str(r.id)))


def ago(value: datetime | None, now: datetime) -> str:
    """ "3 min ago" for a last-seen time; the exact time goes in a title next to it."""
    if value is None:
        return "never"
    seconds = int((now - value).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3_600:
        return f"{seconds // 60} min ago"
    if seconds < 86_400:
        return f"{seconds // 3_600} h ago"
    return f"{seconds // 86_400} d ago"
