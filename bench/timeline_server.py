"""Fleetward with one enrolled agent, for the timeline figures.

`--preload N` stores batches 0..N-1 before serving, so a replay figure
measures duplicates only. The agent's key goes back in the ready line.
"""

from __future__ import annotations

from bench.servers import child_parser, serve
from bench.timeline_bodies import timeline_events
from fleetward.bootstrap import build, configure_logging
from fleetward.config import Settings
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.identity import Principal, Role
from fleetward.entrypoints.http.app import create_app


def main() -> None:
    parser = child_parser(__doc__ or "")
    parser.add_argument("--preload", type=int, default=0, help="batches to store first")
    args = parser.parse_args()
    settings = Settings(data_dir=args.scratch_dir / "data")
    configure_logging(settings)
    container = build(settings, migrate_schema=True)
    try:
        tenant = container.identity.create_tenant("Bench")
        user = container.identity.create_user(
            SYSTEM_CLI, tenant.id, "bench@bench.test", Role.ADMIN, "bench-password-123"
        )
        admin = Principal(tenant.id, user.id, user.email, user.role)
        client = container.clients.create_client(admin, "Contoso")
        site = container.clients.create_site(admin, client.id, "HQ")
        _, token = container.agents.create_token(admin, site.id)
        agent, key = container.agents.enroll(token, "WS-BENCH", "Windows 11", "bench")
        for seq in range(args.preload):
            container.timeline.intake(agent, {"events": timeline_events(seq)})
        serve(create_app(container), args.port, {"path": "/api/v1/agent/events", "key": key})
    finally:
        container.close()


if __name__ == "__main__":
    main()
