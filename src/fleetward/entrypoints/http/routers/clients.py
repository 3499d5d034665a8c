"""/api/v1/clients and /api/v1/clients/{client_id}/sites."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from fleetward.domain.pagination import Page as DomainPage
from fleetward.domain.tenancy import Client, Site
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import CursorQuery, Limit
from fleetward.entrypoints.http.schemas import (
    ClientIn,
    ClientOut,
    ClientPatch,
    Page,
    SiteIn,
    SiteOut,
    SitePatch,
)

router = APIRouter(prefix="/api/v1/clients", tags=["clients"])


@router.get("", response_model=Page[ClientOut])
def list_clients(
    c: ContainerDep, who: PrincipalDep, limit: Limit = None, cursor: CursorQuery = None
) -> DomainPage[Client]:
    return c.clients.list_clients(who, limit, cursor)


@router.post("", status_code=201, response_model=ClientOut)
def create_client(body: ClientIn, c: ContainerDep, who: PrincipalDep) -> Client:
    return c.clients.create_client(who, body.name, body.notes)


@router.get("/{client_id}", response_model=ClientOut)
def get_client(client_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Client:
    return c.clients.get_client(who, client_id)


@router.patch("/{client_id}", response_model=ClientOut)
def update_client(
    client_id: uuid.UUID, body: ClientPatch, c: ContainerDep, who: PrincipalDep
) -> Client:
    return c.clients.update_client(who, client_id, body.name, body.notes)


@router.delete("/{client_id}", status_code=204)
def delete_client(client_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Response:
    c.clients.delete_client(who, client_id)
    return Response(status_code=204)


@router.get("/{client_id}/sites", response_model=Page[SiteOut])
def list_sites(
    client_id: uuid.UUID,
    c: ContainerDep,
    who: PrincipalDep,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> DomainPage[Site]:
    return c.clients.list_sites(who, client_id, limit, cursor)


@router.post("/{client_id}/sites", status_code=201, response_model=SiteOut)
def create_site(client_id: uuid.UUID, body: SiteIn, c: ContainerDep, who: PrincipalDep) -> Site:
    return c.clients.create_site(who, client_id, body.name, body.address)


@router.get("/{client_id}/sites/{site_id}", response_model=SiteOut)
def get_site(client_id: uuid.UUID, site_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Site:
    return c.clients.get_site(who, client_id, site_id)


@router.patch("/{client_id}/sites/{site_id}", response_model=SiteOut)
def update_site(
    client_id: uuid.UUID, site_id: uuid.UUID, body: SitePatch, c: ContainerDep, who: PrincipalDep
) -> Site:
    return c.clients.update_site(who, client_id, site_id, body.name, body.address)


@router.delete("/{client_id}/sites/{site_id}", status_code=204)
def delete_site(
    client_id: uuid.UUID, site_id: uuid.UUID, c: ContainerDep, who: PrincipalDep
) -> Response:
    c.clients.delete_site(who, client_id, site_id)
    return Response(status_code=204)
