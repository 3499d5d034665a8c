"""/api/v1/users (admins) and /api/v1/api-keys."""

from __future__ import annotations

from fastapi import APIRouter

from fleetward.domain.tenancy import User
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import StandardRoutes
from fleetward.entrypoints.http.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    UserIn,
    UserOut,
    UserPatch,
)

users = APIRouter(prefix="/api/v1/users", tags=["users"])
api_keys = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])


user_routes = StandardRoutes[()](users, "/{user_id}", UserOut, "user")
user_routes.list(lambda c, who, limit, cursor: c.identity.list_users(who, limit, cursor))


@users.post("", status_code=201, response_model=UserOut)
def create_user(body: UserIn, c: ContainerDep, who: PrincipalDep) -> User:
    return c.identity.create_user(
        who, who.tenant_id, body.email, body.role, body.password, body.display_name
    )


user_routes.get(lambda c, who, user_id: c.identity.get_user(who, user_id))
user_routes.patch(
    UserPatch,
    lambda c, who, user_id, body: c.identity.update_user(
        who, user_id, body.role, body.display_name, body.disabled, body.password
    ),
)
user_routes.delete(lambda c, who, user_id: c.identity.delete_user(who, user_id))

key_routes = StandardRoutes[()](api_keys, "/{key_id}", ApiKeyOut, "api_key")
key_routes.list(lambda c, who, limit, cursor: c.identity.list_api_keys(who, limit, cursor))


@api_keys.post("", status_code=201, response_model=ApiKeyCreated)
def create_api_key(body: ApiKeyIn, c: ContainerDep, who: PrincipalDep) -> ApiKeyCreated:
    """A key for the calling user, acting with that user's role. The key is shown once."""
    user = c.identity.current_user(who)
    key, secret = c.identity.create_api_key(who, user, body.name)
    return ApiKeyCreated.model_validate(
        {**ApiKeyOut.model_validate(key).model_dump(), "key": secret}
    )


key_routes.delete(lambda c, who, key_id: c.identity.delete_api_key(who, key_id))
