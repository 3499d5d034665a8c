"""Every repository of one transaction, and the unit of work that opens them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from fleetward.domain.integrations import (
    DeadLetter,
)
from fleetward.domain.tenancy import Site
from fleetward.domain.tickets import Comment, TimeEntry
from fleetward.services.ports.agents import Agents, EnrollmentTokens, Timeline, Watches
from fleetward.services.ports.base import ScopedRows, T
from fleetward.services.ports.delivery import (
    EventOutbox,
    Jobs,
    NotificationPreferences,
    Notifications,
    WebhookSubscriptions,
)
from fleetward.services.ports.identity import (
    ApiKeys,
    AuditLog,
    Clients,
    LoginThrottle,
    Sessions,
    Tenants,
    Users,
)
from fleetward.services.ports.pipeline import (
    Alerts,
    Assets,
    Boards,
    FlapStates,
    Integrations,
    OrgMappings,
    Priorities,
    Receipts,
    Rules,
    Statuses,
    SyncRuns,
    Tickets,
    Windows,
)
from fleetward.services.ports.reads import SearchQueries


class Repositories(Protocol):
    @property
    def tenants(self) -> Tenants: ...
    @property
    def users(self) -> Users: ...
    @property
    def api_keys(self) -> ApiKeys: ...
    @property
    def sessions(self) -> Sessions: ...
    @property
    def login_throttle(self) -> LoginThrottle: ...
    @property
    def clients(self) -> Clients: ...
    @property
    def sites(self) -> ScopedRows[Site]: ...
    @property
    def audit(self) -> AuditLog: ...

    # Pipeline A
    @property
    def integrations(self) -> Integrations: ...
    @property
    def org_mappings(self) -> OrgMappings: ...
    @property
    def assets(self) -> Assets: ...
    @property
    def dead_letters(self) -> ScopedRows[DeadLetter]: ...
    @property
    def alerts(self) -> Alerts: ...
    @property
    def receipts(self) -> Receipts: ...
    @property
    def rules(self) -> Rules: ...
    @property
    def windows(self) -> Windows: ...
    @property
    def tickets(self) -> Tickets: ...
    @property
    def boards(self) -> Boards: ...
    @property
    def statuses(self) -> Statuses: ...
    @property
    def priorities(self) -> Priorities: ...
    @property
    def comments(self) -> ScopedRows[Comment]: ...
    @property
    def time_entries(self) -> ScopedRows[TimeEntry]: ...
    @property
    def events(self) -> EventOutbox: ...
    @property
    def notifications(self) -> Notifications: ...
    @property
    def notification_preferences(self) -> NotificationPreferences: ...
    @property
    def jobs(self) -> Jobs: ...
    @property
    def webhook_subscriptions(self) -> WebhookSubscriptions: ...
    @property
    def flap_states(self) -> FlapStates: ...
    @property
    def sync_runs(self) -> SyncRuns: ...

    # Agents and the timeline
    @property
    def enrollment_tokens(self) -> EnrollmentTokens: ...
    @property
    def agents(self) -> Agents: ...
    @property
    def timeline(self) -> Timeline: ...
    @property
    def watches(self) -> Watches: ...

    @property
    def search(self) -> SearchQueries: ...


class UnitOfWork(Protocol):
    """Opens transactions; a block that raises is rolled back whole. When the
    storage fails, every method raises the domain's StorageUnavailable."""

    def write(self) -> AbstractContextManager[Repositories]: ...
    def read(self) -> AbstractContextManager[Repositories]: ...

    def run_write(self, job: Callable[[Repositories], T]) -> T:
        """`job` in a write transaction, returning once it is committed.

        For hot paths: the store may commit it together with other callers'
        jobs, so a job must only touch the database (and may be run twice if
        a job beside it fails).
        """
        ...

    async def run_write_async(self, job: Callable[[Repositories], T]) -> T:
        """run_write() for a caller on the event loop, which it must not block."""
        ...

    def try_write(self, job: Callable[[Repositories], object]) -> bool:
        """`job` in a write transaction, or not at all when the store refuses
        writes (read-only, full, unreachable): False then. For bookkeeping that
        no request should fail for, such as a read's note of when a key was used."""
        ...
