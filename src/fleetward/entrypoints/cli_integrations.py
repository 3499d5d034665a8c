"""`fleetward integrations sync ID`: reconcile one integration with its provider now."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer

from fleetward.domain.sync import SyncRun, SyncStatus, SyncTrigger
from fleetward.entrypoints.cli_common import UserError, err, open_container, out, run_action

integrations_app = typer.Typer(help="Work with integrations.", no_args_is_help=True)


def describe(run: SyncRun) -> str:
    counts = (
        f"created {run.created}, resolved {run.resolved}, reevaluated {run.reevaluated}, "
        f"unchanged {run.unchanged}, errors {run.errors}"
    )
    return f"sync run {run.id} {run.status.value}: {counts}"


@integrations_app.command("sync")
def sync(
    integration_id: Annotated[str, typer.Argument(help="The integration's id.")],
) -> None:
    """Run a reconciliation of the integration now (any tenant's) and print its counts."""

    def action() -> None:
        try:
            parsed = uuid.UUID(integration_id)
        except ValueError:
            raise UserError(f"{integration_id!r} is not an integration id") from None
        with open_container() as c:
            run = asyncio.run(c.sync.run(parsed, SyncTrigger.MANUAL))
        out.print(describe(run), highlight=False)
        if run.status is not SyncStatus.SUCCEEDED:
            err.print(f"[red]error:[/red] {run.error}", highlight=False)
            raise typer.Exit(1)

    run_action(action)
