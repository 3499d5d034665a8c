"""/api/v1/me: the caller's own profile (time zone, display name), for any role."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from fleetward.domain.display_time import MAX_ZONE_NAME
from fleetward.domain.identity import Role
from fleetward.domain.tenancy import User
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.schemas import In, Out, Text

router = APIRouter(prefix="/api/v1/me", tags=["users"])


class MeOut(Out):
    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    time_zone: str = Field(
        description="IANA name the dashboard shows times in; empty: the browser's zone"
    )


class MePatch(In):
    time_zone: Annotated[Text, Field(max_length=MAX_ZONE_NAME)] | None = Field(
        None, description="An IANA name such as Europe/Berlin, or empty for the browser's"
    )
    display_name: Annotated[Text, Field(max_length=200)] | None = None


@router.get("", response_model=MeOut, summary="Your profile")
def get_me(c: ContainerDep, who: PrincipalDep) -> User:
    return c.identity.current_user(who)


@router.patch(
    "",
    response_model=MeOut,
    summary="Change your profile",
    description="Sets your time zone (an IANA name; empty for your browser's: unknown "
    "names are refused with 422 naming `time_zone`) and your display name.",
)
def patch_me(body: MePatch, c: ContainerDep, who: PrincipalDep) -> User:
    return c.identity.update_profile(who, body.time_zone, body.display_name)
