"""Enrolment tokens, enrolling machines, and the agents they become."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from fleetward.domain.agents import (
    AGENT_DEFAULT_SORT,
    AGENT_KEY_PREFIX,
    ENROLLMENT_TOKEN_PREFIX,
    FIRST_CONFIG_VERSION,
    ONLINE_WITHIN,
    Agent,
    EnrollmentToken,
    token_expiry,
)
from fleetward.domain.audit import Actor, snapshot
from fleetward.domain.errors import InvalidInput, Unauthenticated
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.domain.tenancy import clean_name
from fleetward.domain.tokens import display_prefix, hash_secret, new_secret
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, UnitOfWork
from fleetward.services.resources import ScopedResource

# Touching last_seen_at on every batch would add a write to every agent request.
LAST_SEEN_GRANULARITY = timedelta(minutes=1)
# One answer for every refused token, so a caller learns nothing about which exist.
BAD_TOKEN = "enrolment token is unknown, expired or revoked"  # noqa: S105
BAD_AGENT_KEY = "unknown or revoked agent key"

VERSION_MAX = 50  # the agent.agent_version column
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SiteHoldings:
    agents: int
    tokens: int


def _site(site_id: uuid.UUID | None) -> dict[str, uuid.UUID]:
    return {} if site_id is None else {"site_id": site_id}


class AgentService:
    def __init__(self, uow: UnitOfWork, clock: Clock, probes: CrossTenantProbes) -> None:
        self.uow = uow
        self.clock = clock
        # Tokens let machines in: admins mint and revoke them, anyone may list them.
        self.tokens = ScopedResource[EnrollmentToken](
            uow, clock, probes, "enrollment_token", lambda r: r.enrollment_tokens, Access.ADMIN
        )
        self.agents = ScopedResource[Agent](
            uow, clock, probes, "agent", lambda r: r.agents, Access.ADMIN
        )

    # Enrolment tokens

    def create_token(
        self,
        principal: Principal,
        site_id: uuid.UUID,
        name: str = "",
        expires_at: datetime | None = None,
        expires_in_hours: int | None = None,
    ) -> tuple[EnrollmentToken, str]:
        """A new token for one site; the secret is answered this once and kept hashed."""
        principal.require(Access.ADMIN)
        now = self.clock()
        expiry = token_expiry(now, expires_at, expires_in_hours)
        with self.uow.read() as repos:
            if repos.sites.get(principal.tenant_id, site_id) is None:
                # A site of another tenant is as unknown as one that never was.
                raise InvalidInput("site_id names no site of yours", field="site_id")
        secret = new_secret(ENROLLMENT_TOKEN_PREFIX)
        token = EnrollmentToken(
            new_id(),
            principal.tenant_id,
            site_id,
            clean_name(name) if name.strip() else "",
            display_prefix(secret),
            expiry,
            None,
            now,
        )
        with self.uow.write() as repos:
            repos.enrollment_tokens.add(token, hash_secret(secret))
            record(
                repos,
                self.clock,
                principal.tenant_id,
                actor_of(principal),
                "enrollment_token.create",
                "enrollment_token",
                token.id,
                after=snapshot(token),
            )
        return token, secret

    def page_tokens(
        self,
        principal: Principal,
        limit: int | None,
        cursor: str | None,
        site_id: uuid.UUID | None = None,
    ) -> Page[EnrollmentToken]:
        """The tenant's tokens, or one site's (the caller checked the site is theirs)."""
        return self.tokens.page(principal, limit, cursor, **_site(site_id))

    def get_token(self, principal: Principal, token_id: uuid.UUID) -> EnrollmentToken:
        return self.tokens.get(principal, token_id)

    def revoke_token(self, principal: Principal, token_id: uuid.UUID) -> EnrollmentToken:
        """Stops the token enrolling more machines; agents it enrolled keep working."""
        return self._revoke(principal, self.tokens, token_id)

    # Enrolling (the token is the only credential)

    def enroll(
        self, token_secret: str, hostname: str, os: str, agent_version: str
    ) -> tuple[Agent, str]:
        now = self.clock()
        with self.uow.read() as repos:
            token = repos.enrollment_tokens.by_hash(hash_secret(token_secret))
        if token is None or not token.usable(now):
            raise Unauthenticated(BAD_TOKEN, field="token")
        secret = new_secret(AGENT_KEY_PREFIX)
        agent = Agent(
            new_id(),
            token.tenant_id,
            token.site_id,
            hostname,
            os,
            agent_version,
            FIRST_CONFIG_VERSION,
            now,
            None,
            now,
            now,
        )
        actor = Actor("enrollment_token", token.id, f"enrolment token {token.prefix}")
        with self.uow.write() as repos:
            # Checked again inside the write: a revoke may have committed meanwhile.
            current = repos.enrollment_tokens.get(token.tenant_id, token.id)
            if current is None or not current.usable(now):
                raise Unauthenticated(BAD_TOKEN, field="token")
            repos.agents.add(agent, hash_secret(secret))
            record(
                repos,
                self.clock,
                agent.tenant_id,
                actor,
                "agent.enroll",
                "agent",
                agent.id,
                after=snapshot(agent),
            )
        return agent, secret

    def authenticate_agent(self, secret: str) -> Agent:
        """The agent a key belongs to; 401 for an unknown or revoked one."""
        now = self.clock()
        with self.uow.read() as repos:
            agent: Agent | None = repos.agents.by_hash(hash_secret(secret))
        if agent is None or agent.revoked_at is not None:
            raise Unauthenticated(BAD_AGENT_KEY)
        if agent.last_seen_at is None or now - agent.last_seen_at > LAST_SEEN_GRANULARITY:
            with self.uow.write() as repos:
                repos.agents.update(agent.tenant_id, agent.id, last_seen_at=now)
            agent = dataclasses.replace(agent, last_seen_at=now)
        return agent

    # Agents

    def page_agents(
        self,
        principal: Principal,
        limit: int | None,
        cursor: str | None,
        site_id: uuid.UUID | None = None,
    ) -> Page[Agent]:
        return self.agents.page(principal, limit, cursor, **_site(site_id))

    def holdings(
        self, principal: Principal, site_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, SiteHoldings]:
        """What each site holds, which deleting it deletes with it (the schema cascades)."""
        principal.require(Access.READ)
        tenant_id = principal.tenant_id
        with self.uow.read() as repos:
            return {
                site_id: SiteHoldings(
                    repos.agents.count(tenant_id, site_id=site_id),
                    repos.enrollment_tokens.count(tenant_id, site_id=site_id),
                )
                for site_id in site_ids
            }

    def list_agents(
        self,
        principal: Principal,
        limit: int | None,
        cursor: str | None,
        sort: Sort = AGENT_DEFAULT_SORT,
        state: str | None = None,
        client_id: uuid.UUID | None = None,
    ) -> tuple[Page[Agent], dict[str, int]]:
        """One counted page in `sort` order, of one state or all (of one client's
        sites, the caller having checked the client is theirs), and how many agents
        are in each state: online is seen within ONLINE_WITHIN of now."""
        principal.require(self.agents.read_access)
        online_since = self.clock() - ONLINE_WITHIN
        tenant_id = principal.tenant_id
        with self.uow.read() as repos:
            page = repos.agents.listed(
                tenant_id, sort, clamp_limit(limit), cursor, state, online_since, client_id
            )
            return page, repos.agents.state_counts(tenant_id, online_since, client_id)

    def get_agent(self, principal: Principal, agent_id: uuid.UUID) -> Agent:
        return self.agents.get(principal, agent_id)

    def revoke_agent(self, principal: Principal, agent_id: uuid.UUID) -> Agent:
        """Its key stops working at once; its timeline stays. People revoke through
        AgentControl.revoke_agent, which also closes its control channel."""
        return self._revoke(principal, self.agents, agent_id)

    def record_version(self, agent: Agent, agent_version: str) -> Agent:
        """The version the agent says it runs (its hello), kept when it changed."""
        version = agent_version.strip()[:VERSION_MAX]
        if not version or not version.isprintable() or version == agent.agent_version:
            return agent
        now = self.clock()
        with self.uow.write() as repos:
            repos.agents.update(agent.tenant_id, agent.id, agent_version=version, updated_at=now)
        return dataclasses.replace(agent, agent_version=version, updated_at=now)

    def _revoke(self, principal: Principal, kind: ScopedResource[T], object_id: uuid.UUID) -> T:
        """Set revoked_at once, audited as `<type>.revoke`; revoking again changes nothing."""
        principal.require(Access.ADMIN)
        now = self.clock()
        with self.uow.write() as repos:
            rows = kind.rows(repos)
            before = rows.get(principal.tenant_id, object_id)
            if before is not None:
                if getattr(before, "revoked_at", None) is not None:
                    return before
                changes = {"revoked_at": now}
                if hasattr(before, "updated_at"):
                    changes["updated_at"] = now
                rows.update(principal.tenant_id, object_id, **changes)
                after = dataclasses.replace(before, **changes)  # type: ignore[type-var]
                record(
                    repos,
                    self.clock,
                    principal.tenant_id,
                    actor_of(principal),
                    f"{kind.object_type}.revoke",
                    kind.object_type,
                    object_id,
                    before=snapshot(before),
                    after=snapshot(after),
                )
                return after
        raise kind.missing(principal, object_id)
