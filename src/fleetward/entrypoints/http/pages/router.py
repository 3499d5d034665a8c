"""Dashboard pages (server-rendered with Jinja2, enhanced with HTMX).

One router for app.py to mount; the pages live in a module per area.
"""

from __future__ import annotations

from fastapi import APIRouter

from fleetward.entrypoints.http.pages import (
    agent_events,
    agents,
    alerts,
    auth,
    clients,
    integrations,
    notifications,
    rule_editor,
    rules,
    tickets,
    timeline,
    users,
    watches,
    windows,
)

router = APIRouter(include_in_schema=False)
for _area in (
    auth.router,
    clients.router,
    users.router,
    alerts.router,
    tickets.router,
    rule_editor.router,
    rules.router,
    windows.router,
    integrations.router,
    agents.router,
    agent_events.router,
    timeline.router,
    watches.router,
    notifications.router,
):
    router.include_router(_area)
