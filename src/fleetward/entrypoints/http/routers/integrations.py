"""/api/v1/integrations: senders, their mappings, discovered assets, dead letters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BeforeValidator, Field

from fleetward.bootstrap import Container
from fleetward.domain.alerts import Provider
from fleetward.domain.identity import Principal
from fleetward.domain.integrations import Asset, Integration, OrgMapping
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import StandardRoutes
from fleetward.entrypoints.http.schemas import In, Name, Out, Text, TextJson


def _as_text(value: Any) -> Any:
    # Organisation ids arrive as numbers from some tools: compared as strings.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ExternalId = Annotated[Text, BeforeValidator(_as_text), Field(min_length=1, max_length=200)]

CREDENTIALS_HELP = (
    "The provider API's credentials: client_id and client_secret (NinjaOne), api_key "
    "(Tactical RMM). Stored encrypted and never shown: answers list their names in "
    "credentials_set."
)


class IntegrationIn(In):
    provider: Provider
    name: Name
    settings: TextJson = Field(
        default_factory=dict,
        description="default_client_id, client_label (Alertmanager), poll_interval_minutes "
        "(5-60), api_base_url",
    )
    credentials: dict[str, str] | None = Field(default=None, description=CREDENTIALS_HELP)


class IntegrationPatch(In):
    name: Name | None = None
    enabled: bool | None = None
    settings: TextJson | None = None
    credentials: dict[str, str | None] | None = Field(
        default=None,
        description=CREDENTIALS_HELP + " Only the names given change; null removes one.",
    )


class IntegrationOut(Out):
    id: uuid.UUID
    provider: Provider
    name: str
    enabled: bool
    settings: dict[str, Any]
    credentials_set: list[str] = Field(description="Names of the API credentials stored")
    webhook_url: str
    created_at: datetime
    updated_at: datetime


class IntegrationCreated(IntegrationOut):
    webhook_secret: str = Field(description="Shown this once; stored encrypted")


class SecretOut(Out):
    webhook_secret: str


class MappingIn(In):
    external_org_id: ExternalId
    client_id: uuid.UUID


class MappingOut(Out):
    id: uuid.UUID
    integration_id: uuid.UUID
    external_org_id: str
    client_id: uuid.UUID
    created_at: datetime


class AssetOut(Out):
    id: uuid.UUID
    integration_id: uuid.UUID
    external_device_id: str
    name: str
    external_org_id: str | None
    client_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class AssetPatch(In):
    client_id: uuid.UUID | None


class DeadLetterOut(Out):
    id: uuid.UUID
    integration_id: uuid.UUID
    body: str
    error: str
    field: str | None
    created_at: datetime
    replayed_at: datetime | None
    replay_result: str | None


class ReplayOut(Out):
    dead_letter: DeadLetterOut
    result: str
    alert_id: uuid.UUID | None
    error: str | None


router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


def _out(
    c: Container, integration: Integration, credentials: list[str], secret: str | None = None
) -> dict[str, Any]:
    base = c.settings.public_base_url()
    body: dict[str, Any] = {
        "id": integration.id,
        "provider": integration.provider,
        "name": integration.name,
        "enabled": integration.enabled,
        "settings": integration.settings,
        "credentials_set": credentials,
        "webhook_url": f"{base}/api/v1/webhooks/{integration.id}",
        "created_at": integration.created_at,
        "updated_at": integration.updated_at,
    }
    if secret is not None:
        body["webhook_secret"] = secret
    return body


integrations = StandardRoutes[()](router, "/{integration_id}", IntegrationOut, "integration")


def _outs(c: Container, who: Principal, found: list[Integration]) -> list[dict[str, Any]]:
    names = c.integrations.credentials_set(who, found)
    return [_out(c, integration, names[integration.id]) for integration in found]


def _one(c: Container, who: Principal, integration: Integration) -> dict[str, Any]:
    return _outs(c, who, [integration])[0]


def _listed(c: Container, who: Principal, limit: int | None, cursor: str | None) -> dict[str, Any]:
    found = c.integrations.page(who, limit, cursor)
    return {"items": _outs(c, who, found.items), "next": found.next}


integrations.list(_listed)


@router.post("", status_code=201, response_model=IntegrationCreated)
def create_integration(body: IntegrationIn, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """Returns the webhook URL and its secret; the secret is not shown again."""
    integration, secret = c.integrations.create(
        who, body.provider, body.name, body.settings, body.credentials
    )
    return _out(c, integration, sorted(body.credentials or {}), secret)


integrations.get(
    lambda c, who, integration_id: _one(c, who, c.integrations.get(who, integration_id))
)
integrations.patch(
    IntegrationPatch,
    lambda c, who, integration_id, body: _one(
        c,
        who,
        c.integrations.update(
            who, integration_id, body.name, body.enabled, body.settings, body.credentials
        ),
    ),
)
integrations.delete(lambda c, who, integration_id: c.integrations.delete(who, integration_id))


@router.post("/{integration_id}/rotate-secret", response_model=SecretOut)
def rotate_secret(integration_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> SecretOut:
    """A new secret replaces the old one at once; update the sender."""
    return SecretOut(webhook_secret=c.integrations.rotate_secret(who, integration_id))


mappings = StandardRoutes[uuid.UUID](
    router, "/{integration_id}/mappings/{mapping_id}", MappingOut, "mapping"
)
mappings.list(
    lambda c, who, integration_id, limit, cursor: c.integrations.list_mappings(
        who, integration_id, limit, cursor
    )
)


@router.post("/{integration_id}/mappings", status_code=201, response_model=MappingOut)
def create_mapping(
    integration_id: uuid.UUID, body: MappingIn, c: ContainerDep, who: PrincipalDep
) -> OrgMapping:
    return c.integrations.add_mapping(who, integration_id, body.external_org_id, body.client_id)


class ReprocessOut(Out):
    alerts: int = Field(description="Open alerts of the organisation without a client, run")
    results: dict[str, int] = Field(
        description="By the trigger's result: created (ticket opened or re-triggered), "
        "suppressed, recorded"
    )
    still_unmapped: int = Field(description="Still without a client (e.g. an asset's own)")
    more: bool = Field(description="More than 1000 were waiting: call again")


@router.post("/{integration_id}/mappings/{mapping_id}/reprocess", response_model=ReprocessOut)
def reprocess_mapping(
    integration_id: uuid.UUID, mapping_id: uuid.UUID, c: ContainerDep, who: PrincipalDep
) -> Any:
    """Run the open alerts of the mapping's organisation that were recorded without a
    client (GET /api/v1/alerts/triage) through the windows and rules now, oldest first:
    one ticket per client, device and condition. Operators and admins."""
    integration, mapping = c.integrations.get_mapping(who, integration_id, mapping_id)
    return c.alert_actions.reprocess(who, integration, mapping.external_org_id)


mappings.delete(
    lambda c, who, integration_id, mapping_id: c.integrations.delete_mapping(
        who, integration_id, mapping_id
    )
)
# Assets are re-assigned (below) and dead letters replayed, never read one by one.
assets = StandardRoutes[uuid.UUID](router, "/{integration_id}/assets/{asset_id}", AssetOut, "asset")
assets.list(
    lambda c, who, integration_id, limit, cursor: c.integrations.list_assets(
        who, integration_id, limit, cursor
    )
)


@router.patch("/{integration_id}/assets/{asset_id}", response_model=AssetOut)
def assign_asset(
    integration_id: uuid.UUID,
    asset_id: uuid.UUID,
    body: AssetPatch,
    c: ContainerDep,
    who: PrincipalDep,
) -> Asset:
    """Re-assign a device to another client (or none); later alerts follow."""
    return c.integrations.assign_asset(who, integration_id, asset_id, body.client_id)


dead_letters = StandardRoutes[uuid.UUID](
    router, "/{integration_id}/dead-letters/{letter_id}", DeadLetterOut, "dead_letter"
)
dead_letters.list(
    lambda c, who, integration_id, limit, cursor: c.integrations.list_dead_letters(
        who, integration_id, limit, cursor
    )
)


@router.post("/{integration_id}/dead-letters/{letter_id}/replay", response_model=ReplayOut)
def replay_dead_letter(
    integration_id: uuid.UUID, letter_id: uuid.UUID, c: ContainerDep, who: PrincipalDep
) -> dict[str, Any]:
    letter, answer, error = c.integrations.replay_dead_letter(who, integration_id, letter_id)
    return {
        "dead_letter": letter,
        "result": letter.replay_result,
        "alert_id": answer.outcome.alert_id if answer else None,
        "error": error,
    }
