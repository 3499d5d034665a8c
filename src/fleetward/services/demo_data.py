"""Sample alerts for `fleetward demo`, sent through the real pipeline.

A first look at the dashboard should show a shift's work, not empty tables: a
generic integration, one catch-all rule, and a handful of triggers (and one
reset) mapped to the demo clients, each taken exactly as a webhook would take
it, so the alerts, tickets and overview figures are the pipeline's own. Seeding
again adds nothing: the integration is found by name and the triggers are
replays (one row per external alert id).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from fleetward.domain.alerts import Provider
from fleetward.domain.identity import Principal
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.domain.rules import RuleActions, RuleConditions
from fleetward.domain.tenancy import Client
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.integrations import IntegrationService
from fleetward.services.rules import RuleService
from fleetward.services.webhooks import WebhookService

DEMO_INTEGRATION = "Demo monitoring"
DEMO_RULE = "Every demo alert opens a ticket"

# (kind, external id, series, device, which demo client, severity, title, message,
# minutes ago); the reset ends the spooler alert's series.
DEMO_EVENTS: tuple[tuple[str, str, str, str, int, str, str, str, int], ...] = (
    (
        "triggered",
        "d1",
        "disk-fs01",
        "FS01",
        0,
        "critical",
        "Disk D: almost full",
        "Free space on D: is 2 % (4 GB of 200 GB).",
        7,
    ),
    (
        "triggered",
        "d2",
        "backup-fs01",
        "FS01",
        0,
        "major",
        "Backup job failed",
        "Nightly backup ended with 3 errors: files in use.",
        95,
    ),
    (
        "triggered",
        "d3",
        "cpu-ws07",
        "WS-07",
        1,
        "minor",
        "CPU above 90 % for 15 min",
        "Process msedge.exe used 93 % on average.",
        30,
    ),
    (
        "triggered",
        "d4",
        "av-ws02",
        "WS-02",
        1,
        "critical",
        "Antivirus definitions out of date",
        "Definitions are 9 days old.",
        320,
    ),
    (
        "triggered",
        "d5",
        "svc-srv2",
        "SRV-2",
        2,
        "major",
        "Service Print Spooler stopped",
        "The service stopped unexpectedly and was not restarted.",
        60 * 26,
    ),
    ("reset", "d6", "svc-srv2", "SRV-2", 2, "major", "Service Print Spooler running", "", 60 * 25),
    (
        "triggered",
        "d7",
        "ping-router",
        "Router",
        0,
        "moderate",
        "Packet loss 12 %",
        "Gateway ping lost 12 of 100 packets.",
        60 * 24 * 3,
    ),
)


def seed_demo_alerts(
    principal: Principal,
    clients: Sequence[Client],
    integrations: IntegrationService,
    rules: RuleService,
    webhooks: WebhookService,
    pipeline: AlertPipeline,
    now: datetime,
) -> int:
    """Create the demo integration and rule and take the demo events; how many
    events were new (0 when the demo was seeded before)."""
    existing = integrations.page(principal, MAX_LIMIT, None).items
    if any(i.name == DEMO_INTEGRATION for i in existing) or not clients:
        return 0
    integration, _secret = integrations.create(
        principal, Provider.GENERIC, DEMO_INTEGRATION, {"default_client_id": str(clients[0].id)}
    )
    for n, client in enumerate(clients):
        integrations.add_mapping(principal, integration.id, f"org-{n}", client.id)
    rules.create(principal, DEMO_RULE, True, RuleConditions(), RuleActions())
    taken = 0
    for kind, external_id, series, device, which, severity, title, message, ago in DEMO_EVENTS:
        body = {
            "kind": kind,
            "external_alert_id": external_id,
            "series_key": series,
            "device": {
                "external_id": device.lower(),
                "name": device,
                "external_org_id": f"org-{which % len(clients)}",
            },
            "severity": severity,
            "title": title,
            "condition_identity": series,
            "message": message,
            "occurred_at": (now - timedelta(minutes=ago)).isoformat(),
        }
        pipeline.ingest(integration, webhooks.normalize(integration, body))
        taken += 1
    return taken
