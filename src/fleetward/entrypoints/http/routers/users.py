"""/api/v1/users (admins) and /api/v1/api-keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from fleetward.domain.pagination import Page as DomainPage
from fleetward.domain.tenancy import ApiKey, User
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import CursorQuery, Limit
from fleetward.entrypoints.http.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    Page,
    UserIn,
    UserOut,
    UserPatch,
)

users = APIRouter(prefix="/api/v1/users", tags=["users"])
api_keys = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])


@users.get("", response_model=Page[UserOut])
def list_users(
    c: ContainerDep, who: PrincipalDep, limit: Limit = None, cursor: CursorQuery = None
) -> DomainPage[User]:
    return c.identity.list_users(who, limit, cursor)


@users.post("", status_code=201, response_model=UserOut)
def create_user(body: UserIn, c: ContainerDep, who: PrincipalDep) -> User:
    return c.identity.create_user(
        who, who.tenant_id, body.email, body.role, body.password, body.display_name
    )


@users.get("/{user_id}", response_model=UserOut)
def get_user(user_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> User:
    return c.identity.get_user(who, user_id)


@users.patch("/{user_id}", response_model=UserOut)
def update_user(user_id: uuid.UUID, body: UserPatch, c: ContainerDep, who: PrincipalDep) -> User:
    return c.identity.update_user(
        who, user_id, body.role, body.display_name, body.disabled, body.password
    )


@users.delete("/{user_id}", status_code=204)
def delete_user(user_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Response:
    c.identity.delete_user(who, user_id)
    return Response(status_code=204)


@api_keys.get("", response_model=Page[ApiKeyOut])
def list_api_keys(
    c: ContainerDep, who: PrincipalDep, limit: Limit = None, cursor: CursorQuery = None
) -> DomainPage[ApiKey]:
    return c.identity.list_api_keys(who, limit, cursor)


@api_keys.post("", status_code=201, response_model=ApiKeyCreated)
def create_api_key(body: ApiKeyIn, c: ContainerDep, who: PrincipalDep) -> ApiKeyCreated:
    """A key for the calling user, acting with that user's role. The key is shown once."""
    user = c.identity.current_user(who)
    key, secret = c.identity.create_api_key(who, user, body.name)
    return ApiKeyCreated.model_validate(
        {**ApiKeyOut.model_validate(key).model_dump(), "key": secret}
    )


@api_keys.delete("/{key_id}", status_code=204)
def delete_api_key(key_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> Response:
    c.identity.delete_api_key(who, key_id)
    return Response(status_code=204)
