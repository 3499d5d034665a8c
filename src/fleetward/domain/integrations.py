"""Integrations: the RMM tools and senders an MSP points at Fleetward."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fleetward.domain.alerts import Provider

POLL_MINUTES_DEFAULT = 15
POLL_MINUTES_RANGE = (5, 60)

# The credentials each provider's API needs (docs/providers/*.md, "API access");
# a provider not listed has no API Fleetward calls.
API_CREDENTIALS: dict[Provider, frozenset[str]] = {
    Provider.NINJAONE: frozenset({"client_id", "client_secret"}),
    Provider.TACTICALRMM: frozenset({"api_key"}),
}
MAX_CREDENTIAL_LENGTH = 4096
# The providers whose API Fleetward calls (adapters/providers/<provider>/api.py): only
# their integrations are synced, and their alerts reset and acknowledged there.
API_PROVIDERS = frozenset(API_CREDENTIALS)


@dataclass(frozen=True, slots=True)
class SealedCredentials:
    """An integration's API credentials as stored: their names in clear (the API
    answers which are set), their values as one SecretBox token of a JSON object."""

    names: tuple[str, ...]
    sealed: str


@dataclass(frozen=True, slots=True)
class Integration:
    id: uuid.UUID
    tenant_id: uuid.UUID
    provider: Provider
    name: str
    enabled: bool
    # default_client_id, client_label, poll_interval_minutes, api_base_url...
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def default_client_id(self) -> uuid.UUID | None:
        value = self.settings.get("default_client_id")
        return uuid.UUID(str(value)) if value else None

    @property
    def client_label(self) -> str:
        return str(self.settings.get("client_label") or "client")


@dataclass(frozen=True, slots=True)
class OrgMapping:
    id: uuid.UUID
    tenant_id: uuid.UUID
    integration_id: uuid.UUID
    external_org_id: str
    client_id: uuid.UUID
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Asset:
    """A device an integration told us about, and the client it belongs to."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    integration_id: uuid.UUID
    external_device_id: str
    name: str
    external_org_id: str | None
    client_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A body Fleetward could not accept, kept so nothing sent is lost."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    integration_id: uuid.UUID
    body: str
    error: str
    field: str | None
    created_at: datetime
    replayed_at: datetime | None
    replay_result: str | None


def resolve_client(
    asset: Asset | None,
    mapped_client_id: uuid.UUID | None,
    integration: Integration,
) -> uuid.UUID | None:
    """Asset assignment first, then the organisation mapping, then the default."""
    if asset is not None and asset.client_id is not None:
        return asset.client_id
    return mapped_client_id or integration.default_client_id
