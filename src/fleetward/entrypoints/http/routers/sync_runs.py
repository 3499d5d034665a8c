"""/api/v1/integrations/{id}/sync and /sync-runs: reconciliation with the provider."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from fleetward.domain.sync import SyncRun
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import StandardRoutes, out_model

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])

SyncRunOut = out_model("SyncRunOut", SyncRun)


@router.post(
    "/{integration_id}/sync",
    response_model=SyncRunOut,
    responses={
        202: {"description": "Still running after 10 s; it goes on (see its id)"},
        409: {"description": "A run of this integration is going: the message names it"},
    },
)
async def sync_integration(
    integration_id: uuid.UUID, response: Response, c: ContainerDep, who: PrincipalDep
) -> SyncRun:
    """Reconcile with the provider now (operators and admins): the finished run, with
    its counts; a provider that fails gives a run with status `failed` and its error."""
    run, finished = await c.sync.sync_now(who, integration_id)
    if not finished:
        response.status_code = 202
    return run


runs = StandardRoutes[uuid.UUID](
    router, "/{integration_id}/sync-runs/{run_id}", SyncRunOut, "sync_run"
)
runs.list(
    lambda c, who, integration_id, limit, cursor: c.sync.page(who, integration_id, limit, cursor),
    "The integration's sync runs, newest first.",
)
runs.get(lambda c, who, integration_id, run_id: c.sync.get(who, integration_id, run_id))
