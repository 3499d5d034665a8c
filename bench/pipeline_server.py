"""Fleetward with one NinjaOne integration and a catch-all rule, for the pipeline figures.

`--preload N` ingests triggers 0..N-1 before serving, so a replay figure
measures duplicates only. The webhook path and secret go back in the ready line.
"""

from __future__ import annotations

import asyncio
import uuid

from bench.pipeline_bodies import ninja_trigger
from bench.servers import child_parser, serve
from fleetward.bootstrap import Container, build, configure_logging
from fleetward.config import Settings
from fleetward.domain.alerts import Provider
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.identity import Principal, Role
from fleetward.domain.rules import RuleActions, RuleConditions
from fleetward.entrypoints.http.app import create_app


def ninja_with_catch_all_rule(container: Container) -> tuple[uuid.UUID, dict[str, str]]:
    """A tenant with a NinjaOne integration whose alerts all open tickets for one
    client: the integration's id and the headers its webhooks carry."""
    tenant = container.identity.create_tenant("Bench")
    user = container.identity.create_user(
        SYSTEM_CLI, tenant.id, "bench@bench.test", Role.ADMIN, "bench-password-123"
    )
    admin = Principal(tenant.id, user.id, user.email, user.role)
    client = container.clients.create_client(admin, "Contoso")
    integration, secret = container.integrations.create(
        admin, Provider.NINJAONE, "NinjaOne", {"default_client_id": str(client.id)}
    )
    container.rules.create(admin, "Everything", True, RuleConditions(), RuleActions())
    return integration.id, {"x-fleetward-token": secret}


def main() -> None:
    parser = child_parser(__doc__ or "")
    parser.add_argument("--preload", type=int, default=0, help="triggers to ingest first")
    args = parser.parse_args()
    settings = Settings(data_dir=args.scratch_dir / "data")
    configure_logging(settings)
    container = build(settings, migrate_schema=True)
    try:
        integration_id, headers = ninja_with_catch_all_rule(container)

        async def preload() -> None:
            for seq in range(args.preload):
                await container.webhooks.receive(integration_id, ninja_trigger(seq), headers)

        asyncio.run(preload())
        info = {
            "path": f"/api/v1/webhooks/{integration_id}",
            "secret": headers["x-fleetward-token"],
        }
        serve(create_app(container), args.port, info)
    finally:
        container.close()


if __name__ == "__main__":
    main()
