"""FakeRepositories (every fake as its port) and the FakeUnitOfWork over them."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from fleetward.domain.integrations import DeadLetter
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page
from fleetward.domain.tenancy import Client, Site
from fleetward.domain.tickets import Comment, TimeEntry
from fleetward.services.ports import (
    Agents,
    ApiKeys,
    AuditLog,
    EnrollmentTokens,
    LoginThrottle,
    Repositories,
    SearchQueries,
    Sessions,
    SyncRuns,
    Timeline,
    UnitOfWork,
    Watches,
    WebhookSubscriptions,
)
from tests.fakes.delivery import (
    FakeFlapStates,
    FakeJobs,
    FakeNotificationPreferences,
    FakeNotifications,
    FakeOutbox,
)
from tests.fakes.pipeline import (
    FakeAlerts,
    FakeAssets,
    FakeBoards,
    FakeIntegrations,
    FakeOrgMappings,
    FakePriorities,
    FakeReceipts,
    FakeRules,
    FakeStatuses,
    FakeTickets,
    FakeWindows,
)
from tests.fakes.rows import (
    ConfigCounter,
    FakeRows,
    FakeTenants,
    FakeUsers,
    not_faked,
)

R = TypeVar("R")


class FakeClients(FakeRows[Client]):
    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        name_contains: str | None = None,
    ) -> Page[Client]:
        raise NotImplementedError  # sorted pages: storage tests on both engines


class FakeRepositories:
    """Every repository the pipeline uses, in memory."""

    def __init__(self) -> None:
        self.config = ConfigCounter()
        config = self.config
        self._tenants = FakeTenants(config)
        self._users = FakeUsers()
        self._clients = FakeClients()
        self._sites = FakeRows[Site]()
        self._integrations = FakeIntegrations()
        self._org_mappings = FakeOrgMappings(config)
        self._assets = FakeAssets()
        self._dead_letters = FakeRows[DeadLetter]()
        self._alerts = FakeAlerts()
        self._receipts = FakeReceipts()
        self._rules = FakeRules(config)
        self._windows = FakeWindows(config)
        self._comments = FakeRows[Comment]()
        self._time_entries = FakeRows[TimeEntry]()
        self._tickets = FakeTickets(self._comments, self._time_entries)
        self._boards = FakeBoards(config)
        self._statuses = FakeStatuses(config)
        self._priorities = FakePriorities(config)
        self._events = FakeOutbox()
        self._notifications = FakeNotifications()
        self._notification_preferences = FakeNotificationPreferences()
        self._jobs = FakeJobs()
        self._flap_states = FakeFlapStates()

    # Typed as the fakes, so tests may look inside; each is also its port.
    @property
    def tenants(self) -> FakeTenants:
        return self._tenants

    @property
    def users(self) -> FakeUsers:
        return self._users

    @property
    def clients(self) -> FakeClients:
        return self._clients

    @property
    def sites(self) -> FakeRows[Site]:
        return self._sites

    @property
    def integrations(self) -> FakeIntegrations:
        return self._integrations

    @property
    def org_mappings(self) -> FakeOrgMappings:
        return self._org_mappings

    @property
    def assets(self) -> FakeAssets:
        return self._assets

    @property
    def dead_letters(self) -> FakeRows[DeadLetter]:
        return self._dead_letters

    @property
    def alerts(self) -> FakeAlerts:
        return self._alerts

    @property
    def receipts(self) -> FakeReceipts:
        return self._receipts

    @property
    def rules(self) -> FakeRules:
        return self._rules

    @property
    def windows(self) -> FakeWindows:
        return self._windows

    @property
    def tickets(self) -> FakeTickets:
        return self._tickets

    @property
    def boards(self) -> FakeBoards:
        return self._boards

    @property
    def statuses(self) -> FakeStatuses:
        return self._statuses

    @property
    def priorities(self) -> FakePriorities:
        return self._priorities

    @property
    def comments(self) -> FakeRows[Comment]:
        return self._comments

    @property
    def time_entries(self) -> FakeRows[TimeEntry]:
        return self._time_entries

    @property
    def events(self) -> FakeOutbox:
        return self._events

    @property
    def notifications(self) -> FakeNotifications:
        return self._notifications

    @property
    def notification_preferences(self) -> FakeNotificationPreferences:
        return self._notification_preferences

    @property
    def jobs(self) -> FakeJobs:
        return self._jobs

    @property
    def flap_states(self) -> FakeFlapStates:
        return self._flap_states

    # Not faked yet: identity and agents.
    @property
    def api_keys(self) -> ApiKeys:
        raise not_faked("api_keys")

    @property
    def sessions(self) -> Sessions:
        raise not_faked("sessions")

    @property
    def login_throttle(self) -> LoginThrottle:
        raise not_faked("login_throttle")

    @property
    def audit(self) -> AuditLog:
        raise not_faked("audit")

    @property
    def enrollment_tokens(self) -> EnrollmentTokens:
        raise not_faked("enrollment_tokens")

    @property
    def agents(self) -> Agents:
        raise not_faked("agents")

    @property
    def timeline(self) -> Timeline:
        raise not_faked("timeline")

    @property
    def watches(self) -> Watches:
        raise not_faked("watches")

    @property
    def webhook_subscriptions(self) -> WebhookSubscriptions:
        raise not_faked("webhook_subscriptions")

    @property
    def sync_runs(self) -> SyncRuns:
        raise not_faked("sync_runs")

    @property
    def search(self) -> SearchQueries:
        raise not_faked("search")  # LIKE and its escaping: storage tests on both engines


class FakeUnitOfWork:
    """Every transaction on one FakeRepositories, committed at once."""

    def __init__(self, repos: FakeRepositories | None = None) -> None:
        self.repos = repos or FakeRepositories()
        self.writes = 0  # write transactions run

    @contextmanager
    def write(self) -> Iterator[Repositories]:
        self.writes += 1
        yield self.repos

    @contextmanager
    def read(self) -> Iterator[Repositories]:
        yield self.repos

    def run_write(self, job: Callable[[Repositories], R]) -> R:
        self.writes += 1
        return job(self.repos)

    async def run_write_async(self, job: Callable[[Repositories], R]) -> R:
        return self.run_write(job)

    def try_write(self, job: Callable[[Repositories], object]) -> bool:
        self.run_write(job)
        return True


def fixed_clock(at: datetime) -> Callable[[], datetime]:
    return itertools.repeat(at).__next__


def _conforms(repos: FakeRepositories, uow: FakeUnitOfWork) -> tuple[Repositories, UnitOfWork]:
    """mypy checks here that the fakes are the ports (`make lint` runs mypy on this package too)."""
    return repos, uow
