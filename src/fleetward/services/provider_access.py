"""Integrations' RMM API credentials: checked, sealed at rest, opened only to call
the provider, and the ProviderApi built from them.

Credentials are never answered back: the API shows which are set
(`credentials_set`), never their values, and nothing here logs them. They are
sealed with the SecretBox like webhook secrets, as one token per integration.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from fleetward.domain.alerts import Provider
from fleetward.domain.errors import InvalidInput
from fleetward.domain.integrations import (
    API_CREDENTIALS,
    MAX_CREDENTIAL_LENGTH,
    Integration,
    SealedCredentials,
)
from fleetward.services.ports import ProviderApi, ProviderApiFactory, Repositories, UnitOfWork
from fleetward.services.webhooks import SecretBox


def _field(name: str) -> str:
    return f"credentials.{name}"


class ProviderAccess:
    def __init__(self, uow: UnitOfWork, secrets: SecretBox, apis: ProviderApiFactory) -> None:
        self.uow = uow
        self.secrets = secrets
        self.apis = apis

    def merged(
        self,
        provider: Provider,
        changes: Mapping[str, Any],
        current: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """`current` with `changes` applied (a null value removes one), checked.

        InvalidInput names the field: a provider without an API, an unknown
        name, or a value that is not a non-empty string.
        """
        allowed = API_CREDENTIALS.get(provider)
        if allowed is None:
            first = next(iter(changes), None)
            raise InvalidInput(
                f"provider {provider.value!r} has no API, so it takes no credentials",
                field=_field(first) if first else "credentials",
            )
        merged = dict(current or {})
        for name, value in changes.items():
            if name not in allowed:
                raise InvalidInput(
                    f"unknown credential {name!r}; {provider.value} takes "
                    f"{', '.join(sorted(allowed))}",
                    field=_field(name),
                )
            if value is None:
                merged.pop(name, None)
                continue
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"{name} must be a non-empty string", field=_field(name))
            if len(value) > MAX_CREDENTIAL_LENGTH:
                raise InvalidInput(
                    f"{name} is longer than {MAX_CREDENTIAL_LENGTH} characters",
                    field=_field(name),
                )
            merged[name] = value.strip()
        return merged

    def seal(self, credentials: Mapping[str, str]) -> SealedCredentials | None:
        if not credentials:
            return None
        names = tuple(sorted(credentials))
        return SealedCredentials(names, self.secrets.seal(json.dumps(dict(credentials))))

    def open(self, sealed: SealedCredentials | None) -> dict[str, str]:
        if sealed is None:
            return {}
        opened = json.loads(self.secrets.open(sealed.sealed))
        return {str(k): str(v) for k, v in opened.items()}

    def current(
        self, repos: Repositories, tenant_id: uuid.UUID, integration_id: uuid.UUID
    ) -> dict[str, str]:
        return self.open(repos.integrations.sealed_credentials(tenant_id, integration_id))

    def names(
        self, tenant_id: uuid.UUID, integrations: list[Integration]
    ) -> dict[uuid.UUID, list[str]]:
        with self.uow.read() as repos:
            found = repos.integrations.credential_names(tenant_id, [i.id for i in integrations])
        return {i.id: list(found.get(i.id, ())) for i in integrations}

    def opened(
        self, tenant_id: uuid.UUID, integration_id: uuid.UUID
    ) -> tuple[Integration, dict[str, str]] | None:
        """The integration and its opened credentials, for background work (no role
        check: the caller is Fleetward itself, acting on its tenant's integration)."""
        with self.uow.read() as repos:
            integration = repos.integrations.get(tenant_id, integration_id)
            if integration is None:
                return None
            return integration, self.current(repos, tenant_id, integration_id)

    def api_for(self, integration: Integration) -> ProviderApi | None:
        """`api()` for an integration the caller has read already."""
        with self.uow.read() as repos:
            credentials = self.current(repos, integration.tenant_id, integration.id)
        return self.apis(integration, credentials)

    def api(self, tenant_id: uuid.UUID, integration_id: uuid.UUID) -> ProviderApi | None:
        """The integration's provider API, or None when it has none (no such
        integration, a provider without an API, no api_base_url or credentials)."""
        found = self.opened(tenant_id, integration_id)
        return None if found is None else self.apis(*found)

    def reseal_all(self, repos: Repositories) -> int:
        """Every integration's credentials sealed with the first key; how many."""
        stored = repos.integrations.all_sealed_credentials()
        for tenant_id, integration_id, sealed in stored:
            resealed = SealedCredentials(sealed.names, self.secrets.reseal(sealed.sealed))
            repos.integrations.set_credentials(tenant_id, integration_id, resealed)
        return len(stored)
