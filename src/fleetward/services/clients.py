"""Clients (customer organisations) and their sites."""

from __future__ import annotations

import uuid

from fleetward.domain.identity import Principal
from fleetward.domain.ids import new_id
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.domain.tenancy import CLIENT_DEFAULT_SORT, Client, Site, clean_name
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, UnitOfWork
from fleetward.services.resources import ScopedResource


class ClientService:
    def __init__(self, uow: UnitOfWork, clock: Clock, probes: CrossTenantProbes) -> None:
        self.clock = clock
        self.uow = uow
        self.clients = ScopedResource(uow, clock, probes, "client", lambda r: r.clients)
        self.sites = ScopedResource(uow, clock, probes, "site", lambda r: r.sites)

    # Clients

    def create_client(self, principal: Principal, name: str, notes: str = "") -> Client:
        now = self.clock()
        client = Client(new_id(), principal.tenant_id, clean_name(name), notes, now, now)
        return self.clients.create(principal, client)

    def get_client(self, principal: Principal, client_id: uuid.UUID) -> Client:
        return self.clients.get(principal, client_id)

    def list_clients(
        self,
        principal: Principal,
        limit: int | None,
        cursor: str | None,
        sort: Sort = CLIENT_DEFAULT_SORT,
        name_contains: str | None = None,
    ) -> Page[Client]:
        """In `sort` order (the order they were made in by default), with the total."""
        principal.require(self.clients.read_access)
        with self.uow.read() as repos:
            return repos.clients.listed(
                principal.tenant_id, sort, clamp_limit(limit), cursor, name_contains
            )

    def update_client(
        self, principal: Principal, client_id: uuid.UUID, name: str | None, notes: str | None
    ) -> Client:
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = clean_name(name)
        if notes is not None:
            changes["notes"] = notes
        return self.clients.update(principal, client_id, changes)

    def delete_client(self, principal: Principal, client_id: uuid.UUID) -> None:
        self.clients.delete(principal, client_id)

    # Sites: always reached through their client, so the client is checked first.

    def create_site(
        self, principal: Principal, client_id: uuid.UUID, name: str, address: str = ""
    ) -> Site:
        self.get_client(principal, client_id)
        now = self.clock()
        site = Site(new_id(), principal.tenant_id, client_id, clean_name(name), address, now, now)
        return self.sites.create(principal, site)

    def get_site(self, principal: Principal, client_id: uuid.UUID, site_id: uuid.UUID) -> Site:
        self.get_client(principal, client_id)
        return self.sites.get(principal, site_id, client_id=client_id)

    def list_sites(
        self, principal: Principal, client_id: uuid.UUID, limit: int | None, cursor: str | None
    ) -> Page[Site]:
        self.get_client(principal, client_id)
        return self.sites.page(principal, limit, cursor, client_id=client_id)

    def update_site(
        self,
        principal: Principal,
        client_id: uuid.UUID,
        site_id: uuid.UUID,
        name: str | None,
        address: str | None,
    ) -> Site:
        self.get_client(principal, client_id)
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = clean_name(name)
        if address is not None:
            changes["address"] = address
        return self.sites.update(principal, site_id, changes, client_id=client_id)

    def delete_site(self, principal: Principal, client_id: uuid.UUID, site_id: uuid.UUID) -> None:
        self.get_client(principal, client_id)
        self.sites.delete(principal, site_id, client_id=client_id)
