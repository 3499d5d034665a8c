"""The tenant's own settings (tenant.settings): the reopen window and flap threshold.

Every role reads them; admins change them, audited in the same transaction.
The alert pipeline keeps them in its per-version tenant view
(services/tenant_config.py); saving moves tenant.config_version in the same
UPDATE, so the next alert on any node sees the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetward.domain.errors import InvalidInput
from fleetward.domain.flapping import (
    SETTING_NAMES,
    FlapSettings,
    checked_setting,
    settings_doc,
    settings_from,
)
from fleetward.domain.identity import Access, Principal
from fleetward.services.audit import actor_of, record
from fleetward.services.ports import Clock, UnitOfWork


class TenantSettingsService:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def get(self, principal: Principal) -> FlapSettings:
        principal.require(Access.READ)
        with self.uow.read() as repos:
            return settings_from(repos.tenants.settings(principal.tenant_id))

    def update(self, principal: Principal, changes: Mapping[str, Any]) -> FlapSettings:
        """Change the settings named in `changes`; the others keep their values."""
        principal.require(Access.ADMIN)
        for name in changes:
            if name not in SETTING_NAMES:
                raise InvalidInput(f"{name} is not a tenant setting", field=name)
        checked = {name: checked_setting(name, value) for name, value in changes.items()}
        tenant_id = principal.tenant_id
        with self.uow.write() as repos:
            repos.tenants.lock(tenant_id)
            stored = repos.tenants.settings(tenant_id)
            before = settings_from(stored)
            after = settings_from({**stored, **checked})
            if after == before:
                return before
            # Keys this version does not know are kept for the one that does.
            repos.tenants.save_settings(tenant_id, {**stored, **settings_doc(after)})
            record(
                repos,
                self.clock,
                tenant_id,
                actor_of(principal),
                "tenant.settings_update",
                "tenant",
                tenant_id,
                before=settings_doc(before),
                after=settings_doc(after),
            )
        return after
