"""Dashboard pages (server-rendered with Jinja2, enhanced with HTMX).

One router for app.py to mount; the pages live in a module per area.
"""

from __future__ import annotations

from fastapi import APIRouter

from fleetward.entrypoints.http.pages import (
    agent_events,
    agents,
    alert_actions,
    alerts,
    auth,
    clients,
    integration_sync,
    integrations,
    notifications,
    profile,
    rule_editor,
    rules,
    search,
    subscriptions,
    tenant_settings,
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
    alert_actions.router,
    alerts.router,
    tickets.router,
    rule_editor.router,
    rules.router,
    windows.router,
    integrations.router,
    integration_sync.router,
    agents.router,
    agent_events.router,
    timeline.router,
    watches.router,
    subscriptions.router,
    tenant_settings.router,
    notifications.router,
    search.router,
    profile.router,
):
    router.include_router(_area)
