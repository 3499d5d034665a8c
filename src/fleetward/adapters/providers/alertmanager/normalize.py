"""Alertmanager webhook (version 4) body to one NormalizedEvent per alert.

Alertmanager sends a whole group per request and re-sends it every
group_interval while anything in it changes: still-firing alerts (same
fingerprint and startsAt) next to newly resolved ones. So the status is read
per alert, never from the group's top-level status, and a firing alert's
occurrence id is fingerprint + startsAt so each re-send is a duplicate.
"""

from __future__ import annotations

from typing import Any

from fleetward.adapters.providers._fields import Fields, iso, parse_time
from fleetward.adapters.providers.settings import ProviderSettings
from fleetward.domain.alerts import (
    Device,
    EventKind,
    Ignored,
    NormalizedEvent,
    Provider,
    Severity,
)
from fleetward.domain.errors import PayloadError

# The `severity` label is a convention, not a standard; these are its usual values.
SEVERITIES = {
    "critical": Severity.CRITICAL,
    "error": Severity.MAJOR,
    "warning": Severity.MODERATE,
    "info": Severity.MINOR,
}

STATUSES = {"firing": EventKind.TRIGGERED, "resolved": EventKind.RESET}

SUPPORTED_VERSION = "4"


def normalize(body: Any, settings: ProviderSettings) -> list[NormalizedEvent | Ignored]:
    group = Fields(body)
    version = group.scalar("version")
    # A future payload version may move fields: refuse it (the body is kept
    # as a dead letter for replay) rather than read it wrongly.
    if version is not None and version != SUPPORTED_VERSION:
        raise PayloadError(f"unsupported version {version!r} in 'version': expected '4'", "version")
    alerts = group.data.get("alerts")
    if alerts is None:
        raise group.missing("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("expected a list in 'alerts'", "alerts")
    if not alerts:
        return [Ignored("the notification holds no alerts")]
    return [_alert(Fields(entry, f"alerts[{i}]"), settings) for i, entry in enumerate(alerts)]


def _alert(f: Fields, settings: ProviderSettings) -> NormalizedEvent:
    status = f.required_text("status")
    kind = STATUSES.get(status.strip().lower())
    if kind is None:
        field = f.name("status")
        raise PayloadError(f"expected 'firing' or 'resolved' in '{field}'", field)

    labels = f.obj("labels")
    if labels is None:
        raise f.missing("labels")
    annotations = f.obj("annotations") or Fields({}, f.name("annotations"))
    alertname = labels.required_text("alertname")
    fingerprint = f.required_text("fingerprint")

    if not f.has("startsAt"):
        raise f.missing("startsAt")
    starts_at = parse_time(f.data["startsAt"], f.name("startsAt"), epoch=False, naive_is_utc=False)
    occurred_at = starts_at
    # startsAt pins the occurrence: a re-sent firing alert keeps it, a new
    # firing after a resolve gets a new one. A resolve is its own event.
    occurrence = f"{fingerprint}:{iso(starts_at)}"
    if kind is EventKind.RESET:
        # endsAt of a firing alert is a placeholder (zero time or a timeout
        # estimate), so it is read only once the alert is resolved.
        if not f.has("endsAt"):
            raise f.missing("endsAt")
        occurred_at = parse_time(
            f.data["endsAt"], f.name("endsAt"), epoch=False, naive_is_utc=False
        )
        occurrence += ":resolved"

    job = labels.text("job")
    device_id = labels.text("instance") or labels.text("host")
    summary = annotations.text("summary")
    severity = (labels.text("severity") or "").strip().lower()
    return NormalizedEvent(
        provider=Provider.ALERTMANAGER,
        kind=kind,
        external_alert_id=occurrence,
        series_key=fingerprint,  # a hash of the label set: the same alert across re-sends
        device=Device(
            # A service-level alert has no host; its job (else its name) stands in.
            external_id=device_id or f"alertmanager:{job or alertname}",
            name=device_id or job or alertname,
            external_org_id=labels.text(settings.client_label),
        ),
        severity=SEVERITIES.get(severity, Severity.NONE),
        condition_identity=alertname,
        title=summary or alertname,
        message=annotations.text("description") or summary or "",
        occurred_at=occurred_at,
        alert_class=alertname,
        source_type=job or "",
        raw=f.data,
    )
