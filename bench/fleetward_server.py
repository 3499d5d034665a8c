"""The real Fleetward app on a fresh SQLite file, for the Fleetward figures.

Built as `fleetward serve` would build it (migrated schema, structured
logging to stderr), plus one tenant with an admin user, an API key and a few
clients, so authenticated endpoints answer something real. The key's secret
goes back to the parent in the ready line as `api_key`.
"""

from __future__ import annotations

from bench.servers import child_parser, serve
from fleetward.bootstrap import build, configure_logging
from fleetward.config import Settings
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.identity import Role
from fleetward.entrypoints.http.app import create_app

BENCH_EMAIL = "bench@bench.test"
BENCH_PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway account in a temp database


def main() -> None:
    parser = child_parser(__doc__ or "")
    parser.add_argument("--clients", type=int, default=20, help="clients to create")
    args = parser.parse_args()
    settings = Settings(data_dir=args.scratch_dir / "data")
    configure_logging(settings)
    container = build(settings, migrate_schema=True)
    try:
        tenant = container.identity.create_tenant("Bench")
        user = container.identity.create_user(
            SYSTEM_CLI, tenant.id, BENCH_EMAIL, Role.ADMIN, BENCH_PASSWORD
        )
        _, secret = container.identity.create_api_key(SYSTEM_CLI, user, "bench")
        principal = container.identity.authenticate_api_key(secret)
        for i in range(args.clients):
            container.clients.create_client(principal, f"Client {i:03d}")
        info = {"api_key": secret, "tenant_id": str(tenant.id), "clients": args.clients}
        serve(create_app(container), args.port, info)
    finally:
        container.close()


if __name__ == "__main__":
    main()
