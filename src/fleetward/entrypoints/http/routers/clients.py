"""/api/v1/clients and /api/v1/clients/{client_id}/sites."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from fleetward.domain.listing import parse_sort
from fleetward.domain.pagination import Page
from fleetward.domain.tenancy import CLIENT_DEFAULT_SORT, CLIENT_SORTS, Client, Site
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import (
    CursorQuery,
    FilterQuery,
    Limit,
    SortQuery,
    StandardRoutes,
    page_model,
)
from fleetward.entrypoints.http.schemas import (
    ClientIn,
    ClientOut,
    ClientPatch,
    SiteIn,
    SiteOut,
    SitePatch,
)

router = APIRouter(prefix="/api/v1/clients", tags=["clients"])

clients = StandardRoutes[()](router, "/{client_id}", ClientOut, "client")


@router.get("", response_model=page_model(ClientOut))
def list_clients(
    c: ContainerDep,
    who: PrincipalDep,
    name: FilterQuery = None,
    sort: SortQuery = None,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> Page[Client]:
    """In the order they were made unless `sort` says otherwise (`name` or
    `created_at`, `-` before it for descending); `name` keeps those whose name
    holds it, in any case; `total` counts every match."""
    order = parse_sort(sort, CLIENT_SORTS, CLIENT_DEFAULT_SORT)
    return c.clients.list_clients(who, limit, cursor, order, name or None)


@router.post("", status_code=201, response_model=ClientOut)
def create_client(body: ClientIn, c: ContainerDep, who: PrincipalDep) -> Client:
    return c.clients.create_client(who, body.name, body.notes)


clients.get(lambda c, who, client_id: c.clients.get_client(who, client_id))
clients.patch(
    ClientPatch,
    lambda c, who, client_id, body: c.clients.update_client(who, client_id, body.name, body.notes),
)
clients.delete(lambda c, who, client_id: c.clients.delete_client(who, client_id))

sites = StandardRoutes[uuid.UUID](router, "/{client_id}/sites/{site_id}", SiteOut, "site")
sites.list(
    lambda c, who, client_id, limit, cursor: c.clients.list_sites(who, client_id, limit, cursor)
)


@router.post("/{client_id}/sites", status_code=201, response_model=SiteOut)
def create_site(client_id: uuid.UUID, body: SiteIn, c: ContainerDep, who: PrincipalDep) -> Site:
    return c.clients.create_site(who, client_id, body.name, body.address)


sites.get(lambda c, who, client_id, site_id: c.clients.get_site(who, client_id, site_id))
sites.patch(
    SitePatch,
    lambda c, who, client_id, site_id, body: c.clients.update_site(
        who, client_id, site_id, body.name, body.address
    ),
)
sites.delete(lambda c, who, client_id, site_id: c.clients.delete_site(who, client_id, site_id))
