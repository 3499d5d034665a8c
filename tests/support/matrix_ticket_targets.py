"""The isolation matrix's targets for ticket settings (boards, their statuses,
priorities), tickets with the work on them, and the tenant's own settings.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Actor
from tests.support.api import unique
from tests.support.matrix import (
    Target,
    World,
    collection_ids,
    items,
)
from tests.support.matrix_pipeline_targets import (
    BOARDS,
    PRIORITIES,
    STATUSES,
    TICKETS,
)

# Ticket settings: boards, their statuses, priorities


def board_target(world: World, actor: Actor) -> Target:
    board_id = world.owner_post(BOARDS, new_board())["id"]
    return Target(
        {"board_id": board_id},
        board_id,
        board_id,
        lambda: (world.owner_get(f"{BOARDS}/{board_id}"), collection_ids(world, BOARDS)),
    )


def status_target(world: World, actor: Actor) -> Target:
    board_id = world.owner_post(BOARDS, new_board())["id"]
    statuses = STATUSES.format(board_id=board_id)
    status_id = world.owner_post(statuses, new_status())["id"]
    return Target(
        {"board_id": board_id, "status_id": status_id},
        status_id,
        board_id,
        lambda: (world.owner_get(f"{statuses}/{status_id}"), items(world, statuses)),
    )


def priority_target(world: World, actor: Actor) -> Target:
    priority_id = world.owner_post(PRIORITIES, new_priority())["id"]
    return Target(
        {"priority_id": priority_id},
        priority_id,
        priority_id,
        lambda: (
            world.owner_get(f"{PRIORITIES}/{priority_id}"),
            collection_ids(world, PRIORITIES),
        ),
    )


def new_board() -> dict[str, Any]:
    return {"name": unique("Board")}


def new_status() -> dict[str, Any]:
    return {"name": unique("Status"), "kind": "open"}


def new_priority() -> dict[str, Any]:
    return {"name": unique("Priority")}


# Tickets, and the work on them


def _ticket_id(world: World) -> str:
    return str(world.owner_post(TICKETS, new_ticket())["id"])


def ticket_target(world: World, actor: Actor) -> Target:
    ticket_id = _ticket_id(world)
    return Target(
        {"ticket_id": ticket_id},
        ticket_id,
        ticket_id,
        lambda: (world.owner_get(f"{TICKETS}/{ticket_id}"), collection_ids(world, TICKETS)),
    )


def _work_target(world: World, kind: str, body: dict[str, Any]) -> Target:
    """A comment or a time entry on a ticket; the ticket's updated_at shows new work."""
    ticket_id = _ticket_id(world)
    path = f"{TICKETS}/{ticket_id}/{kind}"
    work_id = world.owner_post(path, body)["id"]
    return Target(
        {"ticket_id": ticket_id},
        work_id,
        ticket_id,
        lambda: (world.owner_get(f"{TICKETS}/{ticket_id}"), items(world, path)),
    )


def comment_target(world: World, actor: Actor) -> Target:
    return _work_target(world, "comments", new_comment())


def time_entry_target(world: World, actor: Actor) -> Target:
    return _work_target(world, "time-entries", new_time_entry())


def new_ticket() -> dict[str, Any]:
    return {"title": unique("Ticket")}


def new_comment() -> dict[str, Any]:
    return {"body": unique("Comment")}


def new_time_entry() -> dict[str, Any]:
    return {"minutes": 15, "note": unique("Worked")}


# Tenant settings: always the caller's own tenant's; no path names an object.

TENANT_SETTINGS = "/api/v1/tenant/settings"


def settings_target(world: World, actor: Actor) -> Target:
    changed = world.call(
        "PATCH", TENANT_SETTINGS, world.owner.admin.headers, {"flap_threshold": 17}
    )
    assert changed.status_code == 200, changed.text
    # Another tenant's answer (the default, 5) never shows the owner's value.
    return Target({}, '"flap_threshold":17', "", lambda: world.owner_get(TENANT_SETTINGS))


def expect_settings_changed(target: Target, response: httpx.Response) -> None:
    assert response.json()["flap_window_minutes"] == 45
