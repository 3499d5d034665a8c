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
    client_detail,
    clients,
    integration_actions,
    integration_sync,
    integrations,
    notifications,
    overview,
    profile,
    rule_editor,
    rules,
    search,
    subscriptions,
    tenant_settings,
    ticket_actions,
    tickets,
    timeline,
    users,
    watches,
    window_actions,
    windows,
)

# Each area's own router (tests enumerate the pages through these).
AREAS = (
    auth.router,
    overview.router,
    clients.router,
    client_detail.router,
    users.router,
    alert_actions.router,
    alerts.router,
    tickets.router,
    ticket_actions.router,
    rule_editor.router,
    rules.router,
    windows.router,
    window_actions.router,
    integrations.router,
    integration_actions.router,
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
)

router = APIRouter(include_in_schema=False)
for _area in AREAS:
    router.include_router(_area)
