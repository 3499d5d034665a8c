"""/api/v1/tenant/settings: the tenant's reopen window and flap protection.

Every role reads them; admins change them (PATCH names only what changes;
a bad value is a 422 naming the field; the change is audited).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field, StrictInt

from fleetward.domain.flapping import SETTING_BOUNDS
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.schemas import In, Out

_REOPEN, _THRESHOLD, _WINDOW = (
    SETTING_BOUNDS[name]
    for name in ("reopen_window_minutes", "flap_threshold", "flap_window_minutes")
)
ReopenWindow = Annotated[
    StrictInt,
    Field(
        ge=_REOPEN[0],
        le=_REOPEN[1],
        description="A new trigger of a condition whose ticket a reset closed less than "
        "this many minutes ago reopens that ticket; 0 turns reopening off",
    ),
]
FlapThreshold = Annotated[
    StrictInt,
    Field(
        ge=_THRESHOLD[0],
        le=_THRESHOLD[1],
        description="More triggers of one condition than this within the window: flapping",
    ),
]
FlapWindow = Annotated[
    StrictInt,
    Field(
        ge=_WINDOW[0],
        le=_WINDOW[1],
        description="The window for counting triggers, and how long a flapping condition "
        "must stay quiet to stop flapping",
    ),
]


class TenantSettingsOut(Out):
    reopen_window_minutes: ReopenWindow
    flap_threshold: FlapThreshold
    flap_window_minutes: FlapWindow


class TenantSettingsPatch(In):
    reopen_window_minutes: ReopenWindow | None = None
    flap_threshold: FlapThreshold | None = None
    flap_window_minutes: FlapWindow | None = None


router = APIRouter(prefix="/api/v1/tenant", tags=["tenant"])


@router.get("/settings", response_model=TenantSettingsOut)
def get_settings(c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    return dataclasses.asdict(c.tenant_settings.get(who))


@router.patch("/settings", response_model=TenantSettingsOut)
def update_settings(
    body: TenantSettingsPatch, c: ContainerDep, who: PrincipalDep
) -> dict[str, Any]:
    """Admins only. A field sent as null is refused (422): leave it out to keep it."""
    return dataclasses.asdict(c.tenant_settings.update(who, body.model_dump(exclude_unset=True)))
