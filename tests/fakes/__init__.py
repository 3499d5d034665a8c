"""In-memory fakes of the storage ports (services/ports/), for services on plain values.

Hand-written, not mocks: each keeps its rows in a dict and answers as the SQL
repository would for what the services ask. The pipeline's repositories are
all here; those of identity and agents answer NotImplementedError until a
test needs them. A FakeUnitOfWork runs every transaction on the same
FakeRepositories and commits at once (there is no rollback to fake).
`tenants.config_version` moves whenever a configuration fake changes, as the
database's triggers make it move.
"""

from __future__ import annotations

from tests.fakes.delivery import (
    FakeFlapStates,
    FakeJobs,
    FakeNotificationPreferences,
    FakeNotifications,
    FakeOutbox,
    RecordedEvent,
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
    _Row,
)
from tests.fakes.unit_of_work import FakeRepositories, FakeUnitOfWork, fixed_clock

__all__ = [
    "ConfigCounter",
    "FakeAlerts",
    "FakeAssets",
    "FakeBoards",
    "FakeFlapStates",
    "FakeIntegrations",
    "FakeJobs",
    "FakeNotificationPreferences",
    "FakeNotifications",
    "FakeOrgMappings",
    "FakeOutbox",
    "FakePriorities",
    "FakeReceipts",
    "FakeRepositories",
    "FakeRows",
    "FakeRules",
    "FakeStatuses",
    "FakeTenants",
    "FakeTickets",
    "FakeUnitOfWork",
    "FakeUsers",
    "FakeWindows",
    "RecordedEvent",
    "_Row",
    "fixed_clock",
]
