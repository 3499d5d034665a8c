"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Gauge

from fleetward import __version__
from fleetward.bootstrap import Container
from fleetward.entrypoints.http import errors, openapi
from fleetward.entrypoints.http.metrics import CrossTenantCollector
from fleetward.entrypoints.http.middleware import BodySizeLimit, RequestMetrics
from fleetward.entrypoints.http.pages import router as pages
from fleetward.entrypoints.http.routers import (
    agent_channel,
    agents,
    alert_rules,
    alerts,
    audit,
    boards,
    clients,
    health,
    integrations,
    maintenance_windows,
    tickets,
    timeline,
    users,
    watches,
    webhooks,
)
from fleetward.entrypoints.scheduler import Scheduler, jobs_for

WEB_DIR = Path(__file__).resolve().parents[2] / "web"


def create_app(container: Container) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        scheduler = Scheduler(jobs_for(container) if container.settings.scheduler_enabled else [])
        scheduler.start()
        container.probes.start()
        try:
            yield
        finally:
            await scheduler.stop()
            # Records the attempts still queued before the server goes.
            await asyncio.to_thread(container.probes.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="Fleetward",
        version=__version__,
        description="Operations platform for managed service providers.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.container = container
    # One registry per app: several apps in one test process must not collide.
    app.state.metrics = CollectorRegistry()
    app.state.metrics.register(CrossTenantCollector(container.probes))
    Gauge(
        "fleetward_write_queue_depth",
        "Write jobs waiting for the database's writer (SQLite's group commit)",
        registry=app.state.metrics,
    ).set_function(lambda: container.db.write_queue_depth)
    errors.install(app)
    openapi.install(app)
    # Routes are copied onto the app rather than include_router()'d: FastAPI then
    # matches one flat list instead of asking every included router in turn, which
    # cost about a millisecond a request with this many routes. The hottest routes
    # (webhooks, health) come first. Routers carry their prefixes already.
    for router in (
        webhooks.router,
        agents.agent,
        agent_channel.channel,
        health.router,
        clients.router,
        users.users,
        users.api_keys,
        audit.router,
        integrations.router,
        boards.boards,
        boards.priorities,
        tickets.router,
        alert_rules.router,
        maintenance_windows.router,
        alerts.router,
        agents.tokens,
        agents.agents,
        agent_channel.eventlog,
        timeline.router,
        watches.router,
        pages.router,
    ):
        app.router.routes.extend(router.routes)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    # Each added one wraps the ones before: metrics see the 413s the size limit
    # answers, and the size limit applies to the webhook intake.
    app.add_middleware(webhooks.WebhookIntake, container=container)
    app.add_middleware(BodySizeLimit, max_bytes=container.settings.max_body_bytes)
    app.add_middleware(RequestMetrics, registry=app.state.metrics)
    return app
