"""Fleetward with a realistic tenant for the dashboard's read figures.

A tenant with an admin, an API key and a browser session; `--clients` clients,
each with one to three sites, mapped from their NinjaOne organisation; and
`--alerts` alerts ingested through the real webhook pipeline, spread over the
clients, the severities and about two thousand devices, a third of them reset
since. The key's secret and the session's cookie go back in the ready line
(`api_key`, `session`).

Seeding 10,000 alerts takes half a minute, so it is done once per bench run:
`--seed-only DIR` seeds a data directory there, writes what the figures need
to DIR/info.json and exits; `--data-from DIR` serves a copy of it (every
figure its own copy, so none sees another's writes).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.servers import child_parser, serve
from fleetward.bootstrap import Container, build, configure_logging
from fleetward.config import Settings
from fleetward.domain.alerts import Provider
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.identity import Principal, Role
from fleetward.entrypoints.http.app import create_app

BENCH_EMAIL = "bench@bench.test"
BENCH_PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway account in a temp database
SEVERITIES = ("CRITICAL", "MAJOR", "MODERATE", "MINOR", "NONE")
CONDITIONS = (
    ("vmm_cond_cpu_usage_ge", "CPU usage above 90% for 5 minutes"),
    ("vmm_cond_disk_free_le", "Disk C: below 10% free space"),
    ("vmm_cond_memory_usage_ge", "Memory usage above 95% for 15 minutes"),
    ("vmm_cond_service_stopped", "Service 'Print Spooler' stopped"),
    ("vmm_cond_offline", "Device has been offline for 10 minutes"),
)
DEVICES = 2_000
RESET_EVERY = 3  # one trigger in three is reset afterwards
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
# Deliveries in flight at once while seeding: the writer commits them in groups.
SEED_CONCURRENCY = 64


def activity(seq: int, clients: int, status: str = "TRIGGERED") -> bytes:
    """NinjaOne's webhook for alert `seq`: its own series, on one of the devices of
    the organisation (client) it belongs to."""
    code, subject = CONDITIONS[seq % len(CONDITIONS)]
    device = seq % DEVICES
    body = {
        "id": seq if status == "TRIGGERED" else 1_000_000 + seq,
        "activityTime": START + seq * 60,
        "severity": SEVERITIES[seq % len(SEVERITIES)],
        "priority": "HIGH",
        "seriesUid": f"series-{seq}",
        "sourceName": subject,
        "subject": subject,
        "message": f"{subject} on WS-{device:05d}.",
        "activityType": "CONDITION",
        "statusCode": status,
        "status": status.title(),
        "type": "Condition",
        "deviceId": device,
        "device": {
            "id": device,
            "organizationId": device % clients,
            "nodeClass": "WINDOWS_WORKSTATION",
            "displayName": f"WS-{device:05d}",
            "systemName": f"DESKTOP-{device:05d}",
        },
        "data": {"message": {"code": code, "params": {}}},
    }
    return json.dumps(body).encode()


def seed(container: Container, clients: int, alerts: int) -> dict[str, str]:
    """The tenant and its data; what the figures authenticate with."""
    tenant = container.identity.create_tenant("Bench")
    user = container.identity.create_user(
        SYSTEM_CLI, tenant.id, BENCH_EMAIL, Role.ADMIN, BENCH_PASSWORD
    )
    admin = Principal(tenant.id, user.id, user.email, user.role)
    _, api_key = container.identity.create_api_key(SYSTEM_CLI, user, "bench")
    _, session = container.identity.login(BENCH_EMAIL, BENCH_PASSWORD, "127.0.0.1")
    integration, secret = container.integrations.create(admin, Provider.NINJAONE, "NinjaOne", {})
    for i in range(clients):
        client = container.clients.create_client(admin, f"Client {i:03d}", f"Notes for {i}")
        for s in range(1 + i % 3):
            container.clients.create_site(admin, client.id, f"Site {s}", f"{s} Main Street")
        container.integrations.add_mapping(admin, integration.id, str(i), client.id)
    asyncio.run(_deliver(container, integration.id, {"x-fleetward-token": secret}, clients, alerts))
    return {"api_key": api_key, "session": session.token}


async def _deliver(
    container: Container,
    integration_id: uuid.UUID,
    headers: Mapping[str, str],
    clients: int,
    alerts: int,
) -> None:
    bodies = [activity(seq, clients) for seq in range(alerts)]
    bodies += [activity(seq, clients, "RESET") for seq in range(0, alerts, RESET_EVERY)]
    for start in range(0, len(bodies), SEED_CONCURRENCY):
        # A delivery the pipeline refuses raises, and the server never reports ready.
        await asyncio.gather(
            *(
                container.webhooks.receive(integration_id, body, headers)
                for body in bodies[start : start + SEED_CONCURRENCY]
            )
        )


INFO_FILE = "info.json"


def seed_into(directory: Path, clients: int, alerts: int) -> dict[str, Any]:
    """Seed a fresh data directory `directory`/data; what it holds goes to info.json."""
    settings = Settings(data_dir=directory / "data")
    configure_logging(settings)
    container = build(settings, migrate_schema=True)
    try:
        info = {**seed(container, clients, alerts), "clients": clients, "alerts": alerts}
    finally:
        container.close()  # checkpoints the WAL: the copies are the whole database
    (directory / INFO_FILE).write_text(json.dumps(info))
    return info


def main() -> None:
    parser = child_parser(__doc__ or "")
    parser.add_argument("--clients", type=int, default=200, help="clients to create")
    parser.add_argument("--alerts", type=int, default=10_000, help="alerts to ingest")
    parser.add_argument("--seed-only", type=Path, help="seed this directory and exit")
    parser.add_argument("--data-from", type=Path, help="serve a copy of a --seed-only directory")
    args = parser.parse_args()
    if args.seed_only:
        seed_into(args.seed_only, args.clients, args.alerts)
        return
    if args.data_from:
        shutil.copytree(args.data_from / "data", args.scratch_dir / "data")
        info = json.loads((args.data_from / INFO_FILE).read_text())
    else:
        info = seed_into(args.scratch_dir, args.clients, args.alerts)
    settings = Settings(data_dir=args.scratch_dir / "data")
    configure_logging(settings)
    container = build(settings, migrate_schema=True)
    try:
        serve(create_app(container), args.port, info)
    finally:
        container.close()


if __name__ == "__main__":
    main()
