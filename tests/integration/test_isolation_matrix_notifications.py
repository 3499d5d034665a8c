"""The isolation and role matrix for notifications (see tests/support/matrix.py).

Notifications and preferences belong to one person: every role reads and marks its
own, and changes its own preferences. The target a route acts on is a notification
of the acting user; another tenant's admin naming it gets the 404 a random id gets,
and the attempt is audited in the owner's log. (Another user of the same tenant
gets 404 too: tests/integration/test_notifications.py.)
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.bootstrap import Container
from fleetward.domain.identity import Access
from fleetward.services.notifications import notify
from tests.conftest import Actor, TenantFixture
from tests.support.api import unique
from tests.support.matrix import Route, Target, World, check_resource, resources

# Who may call what is decided above the SQL, by the same tenant filter on both
# engines: the matrix runs on SQLite (the storage contract runs on both engines
# in the repository and API tests).
pytestmark = pytest.mark.sqlite_only

NOTIFICATIONS = "/api/v1/notifications"
NOTIFICATION = NOTIFICATIONS + "/{notification_id}"
PREFERENCES = "/api/v1/users/me/notification-preferences"


def notification_target(world: World, actor: Actor) -> Target:
    """A notification of the acting user's, unread."""
    uow = SqlUnitOfWork(world.container.db)
    with uow.write() as repos:
        (made,) = notify(
            repos,
            world.owner.id,
            [actor.user_id],
            "alert.matched",
            unique("Disk full"),
            "body",
            "alert",
            uuid.uuid4(),
            datetime.now(UTC),
        )

    def snapshot() -> Any:
        with uow.read() as repos:
            found = repos.notifications.get(world.owner.id, made)
            preferences = repos.notification_preferences.of_users(
                world.owner.id, [u.user_id for u in world.owner.actors.values()]
            )
        return found, preferences

    return Target({"notification_id": str(made)}, str(made), str(made), snapshot)


def expect_count(target: Target, response: httpx.Response) -> None:
    assert response.json()["unread"] >= 1


def expect_marked(target: Target, response: httpx.Response) -> None:
    assert response.json()["marked"] >= 1
    found, _ = target.snapshot()
    assert found.read_at is not None


def expect_read(target: Target, response: httpx.Response) -> None:
    assert response.json()["id"] == target.id
    assert response.json()["read_at"] is not None


def expect_preferences(target: Target, response: httpx.Response) -> None:
    assert response.json()["email"]["events"] == ["alert.matched"]


def expect_defaults(target: Target, response: httpx.Response) -> None:
    assert "alert.matched" in response.json()["kinds"]


def new_preferences() -> dict[str, Any]:
    return {"email": {"events": ["alert.matched"]}}


READ = Access.READ
ROUTES = [
    Route("GET", NOTIFICATIONS, READ, notification_target),
    Route("GET", NOTIFICATIONS + "/unread-count", READ, notification_target, expect=expect_count),
    Route(
        "POST", NOTIFICATIONS + "/read-all", READ, notification_target, status=200,
        expect=expect_marked,
    ),
    Route("GET", NOTIFICATION, READ, notification_target),
    Route(
        "POST", NOTIFICATION + "/read", READ, notification_target, status=200, expect=expect_read
    ),
    Route("GET", PREFERENCES, READ, notification_target, expect=expect_defaults),
    Route(
        "PUT", PREFERENCES, READ, notification_target, new_preferences, status=200,
        expect=expect_preferences,
    ),
]  # fmt: skip


@pytest.fixture
def world(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> World:
    return World(client, container, tenant, other_tenant)


@pytest.mark.parametrize("resource", resources(ROUTES))
def test_each_route_answers_each_caller_as_its_access_says(
    world: World, resource: str, subtests: pytest.Subtests
) -> None:
    check_resource(world, ROUTES, resource, subtests)
