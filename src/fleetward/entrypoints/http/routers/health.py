"""/healthz and /metrics."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fleetward.adapters.storage.health import DatabaseHealth
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.schemas import Health

router = APIRouter(tags=["health"])


def status_of(database: DatabaseHealth) -> tuple[str, int]:
    """The overall word and HTTP status: 200 while reads work, so a load balancer
    keeps a node that still serves pages and reads, 503 when they fail."""
    if not database.read:
        return "unavailable", 503
    if not database.write:
        return "degraded", 200
    return "ok", 200


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(c: ContainerDep) -> Response:
    """What works: `ok` (200) when the database reads and writes, `degraded` (200)
    when reads work and writes fail, `unavailable` (503) when reads fail; the
    `database` entry says which and why. Probed at most about once a second."""
    database = c.db.health.cached()
    if database is None:  # probe, off the loop
        database = await run_in_threadpool(c.db.health.check)
    status, code = status_of(database)
    return JSONResponse({"status": status, "database": asdict(database)}, status_code=code)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
