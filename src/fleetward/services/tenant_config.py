"""What the alert pipeline reads about a tenant on every alert, kept per config version.

Rules, maintenance windows, organisation mappings, boards, priorities and the
tenant's own settings (reopen window, flap threshold) change rarely and are
read for every alert. The database counts their changes in
tenant.config_version (triggers, migration 0004; a settings change moves it in
its own UPDATE, adapters' TenantRepository.save_settings), so one read of that
number tells whether what was loaded before still holds; everything else is
loaded on first need at that version and reused until the number moves.

A view built inside a transaction is published for others only after that
transaction commits (`publish`), so a rolled-back change can never be served
from memory; and a job that changes config itself (the first ticket creating
the default board) goes on with a private view that is never published.
"""

from __future__ import annotations

import uuid

from fleetward.domain.flapping import FlapSettings, settings_from
from fleetward.domain.maintenance import MaintenanceWindow
from fleetward.domain.rules import RuleBook
from fleetward.domain.tickets import Board, Priority
from fleetward.services.memory import Memory
from fleetward.services.ports import Repositories

_MISSING = object()
# Tenants whose views are kept; past this the least recently used goes (an MSP has
# hundreds of tenants at most on one node; this only bounds a pathological case).
MAX_TENANTS = 10_000
# The version already shows every change; the age is the rule all memories keep
# (services/memory.py), and costs one reload of a tenant's view per this long.
VIEW_SECONDS = 600.0


class TenantView:
    """One tenant's pipeline configuration at one version, loaded piece by piece."""

    def __init__(self, tenant_id: uuid.UUID, version: int | None) -> None:
        self.tenant_id = tenant_id
        self.version = version  # None: private to one job, never published
        self._book: RuleBook | None = None
        self._windows: list[MaintenanceWindow] | None = None
        self._clients: dict[tuple[uuid.UUID, str], uuid.UUID | None] = {}
        self._boards: dict[uuid.UUID, Board | None] = {}
        self._first_board: Board | None = None
        self._priorities: dict[str, Priority | None] = {}
        self._flap_settings: FlapSettings | None = None

    def flap_settings(self, repos: Repositories) -> FlapSettings:
        """Reopen window and flap threshold (tenant.settings)."""
        if self._flap_settings is None:
            self._flap_settings = settings_from(repos.tenants.settings(self.tenant_id))
        return self._flap_settings

    def rule_book(self, repos: Repositories) -> RuleBook:
        if self._book is None:
            self._book = RuleBook(repos.rules.ordered(self.tenant_id))
        return self._book

    def windows(self, repos: Repositories) -> list[MaintenanceWindow]:
        if self._windows is None:
            self._windows = list(repos.windows.all(self.tenant_id))
        return self._windows

    def mapped_client(
        self, repos: Repositories, integration_id: uuid.UUID, external_org_id: str | None
    ) -> uuid.UUID | None:
        """The client an organisation of the integration is mapped to, if any."""
        if external_org_id is None:
            return None
        key = (integration_id, external_org_id)
        found = self._clients.get(key, _MISSING)
        if found is _MISSING:
            found = repos.org_mappings.client_for(integration_id, external_org_id)
            self._clients[key] = found
        return found  # type: ignore[return-value]

    def board(self, repos: Repositories, board_id: uuid.UUID) -> Board | None:
        found = self._boards.get(board_id, _MISSING)
        if found is _MISSING:
            found = repos.boards.get(self.tenant_id, board_id)
            self._boards[board_id] = found
        return found  # type: ignore[return-value]

    def first_board(self, repos: Repositories) -> Board | None:
        """The tenant's first board, None while it has none (that is not remembered)."""
        if self._first_board is None:
            self._first_board = repos.boards.first(self.tenant_id)
        return self._first_board

    def priority(self, repos: Repositories, name: str) -> Priority | None:
        key = name.lower()
        found = self._priorities.get(key, _MISSING)
        if found is _MISSING:
            found = repos.priorities.by_name(self.tenant_id, name)
            self._priorities[key] = found
        return found  # type: ignore[return-value]


class TenantViews:
    """The latest published view of each tenant, checked against config_version."""

    def __init__(self) -> None:
        self._views: Memory[uuid.UUID, TenantView] = Memory(MAX_TENANTS, VIEW_SECONDS)

    def current(
        self, repos: Repositories, tenant_id: uuid.UUID, built: list[TenantView]
    ) -> TenantView:
        """The view for the tenant's version as this transaction sees it.

        A view made here is appended to `built`, for the caller to publish once
        its transaction has committed.
        """
        version = repos.tenants.config_version(tenant_id)
        known = self._views.get(tenant_id, version)
        if known is not None:
            return known
        view = TenantView(tenant_id, version)
        built.append(view)
        return view

    def publish(self, views: list[TenantView]) -> None:
        for view in views:
            if view.version is not None:  # a private view is never shared
                self._views.put(view.tenant_id, view, view.version)
