"""NinjaOne activity webhook body to one NormalizedEvent (or Ignored).

NinjaOne posts one activity per request. Only CONDITION activities are
alerts; everything else it may send to the same URL (system, patching,
script results...) is valid and ignored, so the sender sees 200.
"""

from __future__ import annotations

from typing import Any

from fleetward.adapters.providers._fields import Fields, parse_time
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

SEVERITIES = {
    "CRITICAL": Severity.CRITICAL,
    "MAJOR": Severity.MAJOR,
    "MODERATE": Severity.MODERATE,
    "MINOR": Severity.MINOR,
    "NONE": Severity.NONE,
}

KINDS = {
    "TRIGGERED": EventKind.TRIGGERED,
    "RESET": EventKind.RESET,
    "ACKNOWLEDGED": EventKind.ACKNOWLEDGED,
}


def normalize(body: Any, settings: ProviderSettings) -> list[NormalizedEvent | Ignored]:
    del settings  # nothing NinjaOne-specific is configurable
    return [_activity(Fields(body))]


def normalize_activity(activity: Any) -> NormalizedEvent | Ignored:
    """One activity as the webhook would read it (the API client polls the same shape)."""
    return _activity(Fields(activity))


def _activity(f: Fields) -> NormalizedEvent | Ignored:
    # Decide "is this an alert at all" first: other activity types need not
    # carry a device or a status, and must not be rejected for lacking them.
    activity_key = "activityType" if f.has("activityType") else "type"
    activity_type = f.text(activity_key)
    if activity_type is None:
        raise f.missing("activityType")
    if activity_type.strip().upper() != "CONDITION":
        return Ignored(f"activity type {activity_type} is not an alert condition")

    status_key = "statusCode" if f.has("statusCode") else "status"
    status = f.text(status_key)
    if status is None:
        raise f.missing("statusCode")
    kind = KINDS.get(status.strip().upper())
    if kind is None:
        return Ignored(f"condition status {status} is not a trigger, reset or acknowledgement")

    occurrence_id = f.required_ident("id")
    if not f.has("activityTime"):
        raise f.missing("activityTime")
    # NinjaOne stores UTC; an ISO time without offset is read as UTC.
    occurred_at = parse_time(f.data["activityTime"], "activityTime", epoch=True, naive_is_utc=True)

    device = _device(f)
    code = _condition_code(f)
    source_config = f.ident("sourceConfigUid")
    source_name = f.text("sourceName")
    identity = code or source_config or source_name
    if identity is None:
        raise PayloadError(
            "missing field 'sourceConfigUid': a condition needs data.message.code,"
            " sourceConfigUid or sourceName",
            "sourceConfigUid",
        )

    series = f.ident("seriesUid")
    if series is None:
        # Without a series uid, a condition on one device is one series:
        # the reset carries the same source config and device as its trigger.
        series = f"{source_config or identity}:{device.external_id}"

    severity_text = f.text("severity")
    return NormalizedEvent(
        provider=Provider.NINJAONE,
        kind=kind,
        external_alert_id=occurrence_id,  # each activity, a reset too, has its own id
        series_key=series,
        device=device,
        # A severity NinjaOne adds later must not drop the alert: it reads as none.
        severity=SEVERITIES.get((severity_text or "").strip().upper(), Severity.NONE),
        condition_identity=identity,
        title=f.text("subject") or source_name or identity,
        message=f.text("message") or "",
        occurred_at=occurred_at,
        activity_type=activity_type,
        alert_class=code or "",
        source_type=_node_class(f),
        raw=f.data,
    )


def _device(f: Fields) -> Device:
    nested = f.obj("device")
    device_id = f.ident("deviceId") or (nested.ident("id") if nested else None)
    if device_id is None:
        raise f.missing("deviceId")
    # Organisation ids are numbers in NinjaOne; mappings compare them as strings.
    org = (nested.ident("organizationId") if nested else None) or f.ident("organizationId")
    name = (nested.text("displayName") or nested.text("systemName")) if nested else None
    return Device(external_id=device_id, name=name or device_id, external_org_id=org)


def _condition_code(f: Fields) -> str | None:
    data = f.obj("data")
    message = data.obj("message") if data else None
    return message.text("code") if message else None


def _node_class(f: Fields) -> str:
    nested = f.obj("device")
    return (nested.text("nodeClass") if nested else None) or ""
