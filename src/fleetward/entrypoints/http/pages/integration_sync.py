"""The sync part of an integration's page: the last runs, and "Sync now".

The panel is what `panel()` gives the integration page (pages/integrations.py);
the post runs a sync as the API's POST .../sync does and comes back with its
outcome as a flash message.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import Conflict
from fleetward.domain.identity import Principal
from fleetward.domain.integrations import API_PROVIDERS, Integration
from fleetward.domain.sync import SyncRun, SyncStatus, poll_enabled, poll_interval
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages.common import FormSessionDep, PageRoute, parse_id, redirect

router = APIRouter(route_class=PageRoute)

RUNS_SHOWN = 10


def panel(c: Container, who: Principal, integration: Integration) -> dict[str, Any] | None:
    """What the page shows of syncing; None for an integration with no API to sync from."""
    if integration.provider not in API_PROVIDERS:
        return None
    runs = c.sync.page(who, integration.id, RUNS_SHOWN, None).items
    return {
        "runs": runs,
        "last": runs[0] if runs else None,
        "polling": poll_enabled(integration),
        "every_minutes": int(poll_interval(integration).total_seconds() // 60),
    }


def counts(run: SyncRun) -> str:
    return (
        f"created {run.created}, resolved {run.resolved}, reevaluated {run.reevaluated}, "
        f"unchanged {run.unchanged}, errors {run.errors}"
    )


@router.post("/integrations/{integration_id}/sync")
async def sync_now(
    request: Request, c: ContainerDep, session: FormSessionDep, integration_id: str
) -> Response:
    iid = parse_id(integration_id, "integration")
    back = f"/integrations/{iid}#sync"
    try:
        run, finished = await c.sync.sync_now(session.principal, iid)
    except Conflict as exc:  # running already, or nothing to sync from
        return redirect(request, back, flash=f"Not synced: {exc.message}")
    if not finished:
        flash = "Sync started; it is still running. Reload this page to see its result."
    elif run.status is SyncStatus.SUCCEEDED:
        flash = f"Synced: {counts(run)}."
    else:
        flash = f"Sync failed: {(run.error or '')[:300]}"
    return redirect(request, back, flash=flash)
