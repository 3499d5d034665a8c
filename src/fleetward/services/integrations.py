"""Integrations, their organisation mappings, discovered assets and dead letters."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fleetward.domain.alerts import WEBHOOK_PROVIDERS, Provider
from fleetward.domain.audit import snapshot
from fleetward.domain.errors import Conflict, InvalidInput, StorageUnavailable
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.domain.integrations import (
    POLL_MINUTES_DEFAULT,
    POLL_MINUTES_RANGE,
    Asset,
    DeadLetter,
    Integration,
    OrgMapping,
)
from fleetward.domain.outbound import check_url
from fleetward.domain.pagination import Page
from fleetward.domain.tenancy import clean_name
from fleetward.domain.tokens import new_secret
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, ProviderApi, UnitOfWork
from fleetward.services.provider_access import ProviderAccess
from fleetward.services.resources import ScopedResource
from fleetward.services.webhooks import SecretBox, WebhookAnswer, WebhookService, reseal_each

BUILT_IN = (
    "the Fleetward agents integration is built in: its alerts come from agents' "
    "event-log watch rules, and it cannot be changed or deleted"
)

SETTINGS_KEYS = frozenset(
    {"default_client_id", "client_label", "poll_interval_minutes", "poll_enabled", "api_base_url"}
)


class IntegrationService:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        probes: CrossTenantProbes,
        secrets: SecretBox,
        webhooks: WebhookService,
        access: ProviderAccess,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.secrets = secrets
        self.webhooks = webhooks
        self.access = access
        # Integrations are settings: admins manage them, everyone may read them.
        self.integrations = ScopedResource[Integration](
            uow, clock, probes, "integration", lambda r: r.integrations, Access.ADMIN
        )
        self.mappings = ScopedResource[OrgMapping](
            uow, clock, probes, "org_mapping", lambda r: r.org_mappings, Access.ADMIN
        )
        self.assets = ScopedResource[Asset](uow, clock, probes, "asset", lambda r: r.assets)
        self.dead_letters = ScopedResource[DeadLetter](
            uow, clock, probes, "dead_letter", lambda r: r.dead_letters
        )

    def _client_in_tenant(self, principal: Principal, client_id: Any, field: str) -> uuid.UUID:
        try:
            parsed = uuid.UUID(str(client_id))
        except ValueError:
            raise InvalidInput(f"{field} must be a client id", field=field) from None
        with self.uow.read() as repos:
            if repos.clients.get(principal.tenant_id, parsed) is None:
                raise InvalidInput(f"{field} names no client of yours", field=field)
        return parsed

    def _clean_settings(self, principal: Principal, settings: dict[str, Any]) -> dict[str, Any]:
        unknown = set(settings) - SETTINGS_KEYS
        if unknown:
            raise InvalidInput(
                f"unknown setting {sorted(unknown)[0]!r}", field=f"settings.{sorted(unknown)[0]}"
            )
        clean: dict[str, Any] = {
            "poll_interval_minutes": POLL_MINUTES_DEFAULT,
            "poll_enabled": False,
        }
        clean.update(settings)
        if clean.get("default_client_id") is not None:
            clean["default_client_id"] = str(
                self._client_in_tenant(
                    principal, clean["default_client_id"], "settings.default_client_id"
                )
            )
        minutes = clean["poll_interval_minutes"]
        low, high = POLL_MINUTES_RANGE
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not low <= minutes <= high:
            raise InvalidInput(
                f"poll_interval_minutes must be a whole number from {low} to {high}",
                field="settings.poll_interval_minutes",
            )
        if not isinstance(clean["poll_enabled"], bool):
            raise InvalidInput("poll_enabled must be true or false", field="settings.poll_enabled")
        label = clean.get("client_label")
        if label is not None and (
            not isinstance(label, str) or not label.strip() or len(label) > 100
        ):
            raise InvalidInput("client_label must be a label name", field="settings.client_label")
        if clean.get("api_base_url") is not None:
            # Where Fleetward will call with the integration's credentials: the outbound
            # policy's form now, its address again on every connection.
            clean["api_base_url"] = check_url(clean["api_base_url"], "settings.api_base_url")
        return clean

    def create(
        self,
        principal: Principal,
        provider: Provider,
        name: str,
        settings: dict[str, Any],
        credentials: Mapping[str, Any] | None = None,
    ) -> tuple[Integration, str]:
        """The new integration and its webhook secret (shown once). `credentials`
        are its provider API's (docs/providers/*.md), sealed and never shown."""
        principal.require(Access.ADMIN)
        if provider not in WEBHOOK_PROVIDERS:
            raise InvalidInput(
                f"provider {provider.value!r} is built in; choose one of "
                f"{', '.join(sorted(WEBHOOK_PROVIDERS))}",
                field="provider",
            )
        now = self.clock()
        integration = Integration(
            new_id(),
            principal.tenant_id,
            provider,
            clean_name(name),
            True,
            self._clean_settings(principal, settings),
            now,
            now,
        )
        sealed = (
            self.access.seal(self.access.merged(provider, credentials)) if credentials else None
        )
        secret = new_secret("fwh_")
        with self.uow.write() as repos:
            repos.integrations.add(integration, self.secrets.seal(secret), sealed)
            record(
                repos,
                self.clock,
                principal.tenant_id,
                actor_of(principal),
                "integration.create",
                "integration",
                integration.id,
                after=snapshot(integration),
            )
        return integration, secret

    def get(self, principal: Principal, integration_id: uuid.UUID) -> Integration:
        return self.integrations.get(principal, integration_id)

    def _managed(
        self, principal: Principal, integration_id: uuid.UUID, access: Access = Access.ADMIN
    ) -> Integration:
        """An integration people may change: the built-in agent one is read-only (409).

        The role is checked first, so someone who may not change integrations at all
        hears 403 for this one too, not 409.
        """
        principal.require(access)
        integration = self.get(principal, integration_id)
        if integration.provider is Provider.AGENT:
            raise Conflict(BUILT_IN)
        return integration

    def page(
        self, principal: Principal, limit: int | None, cursor: str | None
    ) -> Page[Integration]:
        return self.integrations.page(principal, limit, cursor)

    def update(
        self,
        principal: Principal,
        integration_id: uuid.UUID,
        name: str | None,
        enabled: bool | None,
        settings: dict[str, Any] | None,
        credentials: Mapping[str, Any] | None = None,
    ) -> Integration:
        """`credentials` changes only the names it gives (null removes one)."""
        integration = self._managed(principal, integration_id)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = clean_name(name)
        if enabled is not None:
            changes["enabled"] = enabled
        if settings is not None:
            principal.require(Access.ADMIN)
            changes["settings"] = self._clean_settings(principal, settings)
        if credentials is not None:
            self._set_credentials(principal, integration, credentials)
        updated = self.integrations.update(principal, integration_id, changes)
        self.webhooks.forget(integration_id)
        return updated

    def _set_credentials(
        self, principal: Principal, integration: Integration, changes: Mapping[str, Any]
    ) -> None:
        with self.uow.write() as repos:
            current = self.access.current(repos, principal.tenant_id, integration.id)
            merged = self.access.merged(integration.provider, changes, current)
            if merged == current:
                return
            repos.integrations.set_credentials(
                principal.tenant_id, integration.id, self.access.seal(merged)
            )
            record(
                repos,
                self.clock,
                principal.tenant_id,
                actor_of(principal),
                "integration.credentials",
                "integration",
                integration.id,
                before={"credentials_set": sorted(current)},
                after={"credentials_set": sorted(merged)},
            )

    def credentials_set(
        self, principal: Principal, integrations: list[Integration]
    ) -> dict[uuid.UUID, list[str]]:
        """Which API credentials each integration has: names only, never values."""
        return self.access.names(principal.tenant_id, integrations)

    def opened_credentials(
        self, tenant_id: uuid.UUID, integration_id: uuid.UUID
    ) -> tuple[Integration, dict[str, str]] | None:
        """For Fleetward's own background work (reconciliation, resets): never answer these."""
        return self.access.opened(tenant_id, integration_id)

    def provider_api(self, tenant_id: uuid.UUID, integration_id: uuid.UUID) -> ProviderApi | None:
        """The integration's provider API (close it with aclose()), or None when it has
        none: no such integration, a provider without an API, no api_base_url or credentials."""
        return self.access.api(tenant_id, integration_id)

    def last_received(
        self, principal: Principal, integrations: list[Integration]
    ) -> dict[uuid.UUID, datetime]:
        """When each integration last took in a webhook (missing: never), from the rows
        webhooks leave (storage's last_received says which), not a write per webhook."""
        principal.require(Access.READ)
        with self.uow.read() as repos:
            return repos.integrations.last_received(
                principal.tenant_id, [i.id for i in integrations]
            )

    def delete(self, principal: Principal, integration_id: uuid.UUID) -> None:
        self._managed(principal, integration_id)
        self.integrations.delete(principal, integration_id)
        self.webhooks.forget(integration_id)

    def rotate_secret(self, principal: Principal, integration_id: uuid.UUID) -> str:
        principal.require(Access.ADMIN)
        self._managed(principal, integration_id)
        secret = new_secret("fwh_")
        with self.uow.write() as repos:
            repos.integrations.set_secret(
                principal.tenant_id, integration_id, self.secrets.seal(secret)
            )
            record(
                repos,
                self.clock,
                principal.tenant_id,
                actor_of(principal),
                "integration.rotate_secret",
                "integration",
                integration_id,
            )
        self.webhooks.forget(integration_id)
        return secret

    def reseal_secrets(self) -> int:
        """Seal every stored secret with the first of the configured keys (operator's CLI).

        After this, older keys can be dropped from FLEETWARD_SECRET_KEY. One transaction: a
        secret no configured key opens stops the run with nothing rewritten. Returns how many
        secrets (webhook secrets and API credentials) were rewritten.
        """
        with self.uow.write() as repos:
            sealed_secrets = repos.integrations.sealed_secrets()
            resealed = reseal_each(self.secrets, sealed_secrets, repos.integrations.set_secret)
            credentials = self.access.reseal_all(repos)
        for _, integration_id, _ in sealed_secrets:
            self.webhooks.forget(integration_id)
        return resealed + credentials

    # Organisation mappings: external organisation id -> client

    def add_mapping(
        self,
        principal: Principal,
        integration_id: uuid.UUID,
        external_org_id: str,
        client_id: uuid.UUID,
    ) -> OrgMapping:
        self._managed(principal, integration_id)
        self._client_in_tenant(principal, client_id, "client_id")
        external = external_org_id.strip()
        if not external:
            raise InvalidInput("external_org_id must not be empty", field="external_org_id")
        mapping = OrgMapping(
            new_id(), principal.tenant_id, integration_id, external, client_id, self.clock()
        )
        return self.mappings.create(principal, mapping)

    def list_mappings(
        self, principal: Principal, integration_id: uuid.UUID, limit: int | None, cursor: str | None
    ) -> Page[OrgMapping]:
        self.get(principal, integration_id)
        return self.mappings.page(principal, limit, cursor, integration_id=integration_id)

    def get_mapping(
        self, principal: Principal, integration_id: uuid.UUID, mapping_id: uuid.UUID
    ) -> tuple[Integration, OrgMapping]:
        integration = self.get(principal, integration_id)
        return integration, self.mappings.get(principal, mapping_id, integration_id=integration_id)

    def delete_mapping(
        self, principal: Principal, integration_id: uuid.UUID, mapping_id: uuid.UUID
    ) -> None:
        self._managed(principal, integration_id)
        self.mappings.delete(principal, mapping_id, integration_id=integration_id)

    # Assets discovered from alerts

    def list_assets(
        self, principal: Principal, integration_id: uuid.UUID, limit: int | None, cursor: str | None
    ) -> Page[Asset]:
        self.get(principal, integration_id)
        return self.assets.page(principal, limit, cursor, integration_id=integration_id)

    def assign_asset(
        self,
        principal: Principal,
        integration_id: uuid.UUID,
        asset_id: uuid.UUID,
        client_id: uuid.UUID | None,
    ) -> Asset:
        # An agent's machine belongs to its site's client; it is not re-assigned here.
        self._managed(principal, integration_id, Access.WRITE)
        if client_id is not None:
            self._client_in_tenant(principal, client_id, "client_id")
        return self.assets.update(
            principal, asset_id, {"client_id": client_id}, integration_id=integration_id
        )

    # Dead letters

    def list_dead_letters(
        self, principal: Principal, integration_id: uuid.UUID, limit: int | None, cursor: str | None
    ) -> Page[DeadLetter]:
        self.get(principal, integration_id)
        return self.dead_letters.page(principal, limit, cursor, integration_id=integration_id)

    def replay_dead_letter(
        self, principal: Principal, integration_id: uuid.UUID, letter_id: uuid.UUID
    ) -> tuple[DeadLetter, WebhookAnswer | None, str | None]:
        """Run a kept body through intake again; the letter records how that went."""
        principal.require(Access.WRITE)
        integration = self.get(principal, integration_id)
        letter = self.dead_letters.get(principal, letter_id, integration_id=integration_id)
        try:
            answer: WebhookAnswer | None = self.webhooks.process(
                integration, letter.body.encode("utf-8")
            )
            result, error = (answer.outcome.result.value if answer else "none"), None
        except InvalidInput as failure:
            answer, result, error = None, "failed", failure.message
        except StorageUnavailable:
            raise  # not the letter's fault: nothing is recorded, the replay may be retried
        except Exception as failure:
            if not hasattr(failure, "message"):
                raise
            answer, result, error = None, "failed", str(failure.message)
        now = self.clock()
        with self.uow.write() as repos:
            repos.dead_letters.update(
                principal.tenant_id, letter.id, replayed_at=now, replay_result=result
            )
            record(
                repos,
                self.clock,
                principal.tenant_id,
                actor_of(principal),
                "dead_letter.replay",
                "dead_letter",
                letter.id,
                after={"result": result},
            )
        return dataclasses.replace(letter, replayed_at=now, replay_result=result), answer, error
