"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Gauge
from starlette.types import ASGIApp, Receive, Scope, Send

from fleetward import __version__
from fleetward.bootstrap import Container
from fleetward.entrypoints.http import api_docs, errors, openapi
from fleetward.entrypoints.http.metrics import CrossTenantCollector
from fleetward.entrypoints.http.middleware import BodySizeLimit, RequestMetrics
from fleetward.entrypoints.http.pages import common as page_common
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
    me,
    notifications,
    search,
    sync_runs,
    tenant_settings,
    tickets,
    timeline,
    users,
    watches,
    webhook_subscriptions,
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
        # The outbox's calls (provider resets, e-mail, chat, webhooks) run beside
        # the scheduler, and only where it runs.
        stop_jobs = asyncio.Event()
        jobs = (
            asyncio.create_task(container.jobs.run_forever(stop_jobs))
            if container.settings.scheduler_enabled
            else None
        )
        try:
            yield
        finally:
            stop_jobs.set()
            if jobs is not None:
                await jobs
            # Runs still going end as failed rather than hold the scheduler's stop.
            await container.sync.stop()
            await scheduler.stop()
            # Records the attempts still queued before the server goes.
            await asyncio.to_thread(container.probes.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="Fleetward",
        version=__version__,
        description="Operations platform for managed service providers.",
        docs_url=None,  # api_docs serves /docs from the package's own Swagger UI
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
    errors.install(app, render_page=page_common.error_page)
    openapi.install(app)
    api_docs.install(app)
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
        me.router,
        audit.router,
        integrations.router,
        sync_runs.router,
        boards.boards,
        boards.priorities,
        tickets.router,
        alert_rules.router,
        maintenance_windows.router,
        alerts.router,
        alerts.assets,
        agents.tokens,
        agents.agents,
        agent_channel.eventlog,
        timeline.router,
        watches.router,
        webhook_subscriptions.router,
        tenant_settings.router,
        notifications.router,
        notifications.preferences,
        search.router,
        pages.router,
    ):
        app.router.routes.extend(router.routes)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    # What every request passes, outermost first (each added one wraps the ones
    # before). The webhook's short path is the innermost, so the app-wide
    # concerns apply to it as to any route: the request id, access-log line and
    # metrics under the route's template; the body-size limit (413). There is
    # no app-wide authentication or tracing: a webhook authenticates by its
    # integration's secret. Only FastAPI's own routing and handlers are skipped,
    # and errors are answered as those handlers answer them (errors.response_for).
    # tests/integration/test_webhook_short_path.py checks each of these.
    app.add_middleware(WebhookShortPath, container=container)
    app.add_middleware(BodySizeLimit, max_bytes=container.settings.max_body_bytes)
    app.add_middleware(RequestMetrics, registry=app.state.metrics)
    return app


class WebhookShortPath:
    """POST /api/v1/webhooks/{id} straight to routers.webhooks.answer, past FastAPI.

    RMM tools deliver in bursts, and on this route FastAPI's routing, request
    object and exception middleware cost more than the rest of a duplicate's
    answer (bench webhook_duplicates: about 1.7 times the server's CPU a
    request). Everything else, and any path not in the plain form, goes on to
    the app, whose route of the same path (and the same answer) documents it.
    """

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self.route = next(
            route
            for route in webhooks.router.routes
            if getattr(route, "path", None) == webhooks.WEBHOOK_PATH
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        integration_id = path[len(webhooks.WEBHOOK_PREFIX) :]
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not path.startswith(webhooks.WEBHOOK_PREFIX)
            or not integration_id
            or "/" in integration_id
        ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route  # what the metrics and access log name it by
        body = await _body(receive)
        if body is None:
            return  # the sender went away before it finished sending
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        try:
            response = await webhooks.answer(self.container, integration_id, body, headers)
        except Exception as error:
            response = errors.response_for(error)
        await response(scope, receive, send)


async def _body(receive: Receive) -> bytes | None:
    """The whole request body; None if the client disconnected first. (The size
    limit's receive raises its 413 from here, for the middleware outside.)"""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
