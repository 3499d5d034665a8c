"""Tactical RMM web hook body (docs/providers/tacticalrmm.md) to one NormalizedEvent.

Tactical has no fixed webhook payload: the user pastes Fleetward's body
template into a Tactical web hook, and Tactical fills in its variables as
text. So every value arrives as a string, and a variable Tactical could not
resolve (an availability alert has no check) arrives as the text "None".
"""

from __future__ import annotations

from datetime import datetime
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

# The same table applies to polled alerts: Tactical has three severities.
SEVERITIES = {
    "error": Severity.CRITICAL,
    "warning": Severity.MODERATE,
    "info": Severity.MINOR,
}

EVENTS = {"trigger": EventKind.TRIGGERED, "resolved": EventKind.RESET}

# What Tactical renders for a variable whose value is empty or missing.
_UNRESOLVED = "None"


def normalize(body: Any, settings: ProviderSettings) -> list[NormalizedEvent | Ignored]:
    del settings  # nothing Tactical-specific is configurable
    return [_alert(Fields(body))]


def normalize_alert(body: Any) -> NormalizedEvent:
    """One web hook body; the API client renders polled alerts into the same body."""
    return _alert(Fields(body))


def _text(f: Fields, key: str) -> str | None:
    """A value as stripped text; "None", blank and absent are all None."""
    value = f.scalar(key)  # strings, or numbers if the template left the quotes off
    return None if value is None or value == _UNRESOLVED else value


def _required(f: Fields, key: str) -> str:
    value = _text(f, key)
    if value is None:
        raise f.missing(key)
    return value


def _time(f: Fields, key: str) -> datetime | None:
    value = _text(f, key)
    # Tactical prints its UTC datetimes as "2024-05-01 09:30:12.345678+00:00";
    # seconds since 1970 and bare UTC times are accepted for hand-made templates.
    return None if value is None else parse_time(value, key, epoch=True, naive_is_utc=True)


def _alert(f: Fields) -> NormalizedEvent:
    event = _required(f, "event")
    kind = EVENTS.get(event.lower())
    if kind is None:
        raise PayloadError("expected 'trigger' or 'resolved' in 'event'", "event")

    agent_id = _required(f, "agent_id")
    alert_type = _required(f, "alert_type")
    alert_time = _time(f, "alert_time")
    if alert_time is None:
        raise f.missing("alert_time")

    identity = _condition_identity(f, alert_type)
    alert_id = _text(f, "alert_id")
    # Tactical opens a new alert row (new id) for each occurrence and closes it
    # on resolve, so its id pairs a resolve with its trigger. Without it, one
    # condition on one agent is one series.
    series = alert_id or f"{agent_id}:{identity}"
    # One occurrence: the alert row plus its creation time, which Tactical
    # never changes, so a re-sent trigger is the same occurrence. The resolve
    # gets an id of its own so it cannot be taken for a replayed trigger.
    occurrence = f"{series}:{iso(alert_time)}"
    occurred_at = alert_time
    if kind is EventKind.RESET:
        occurrence += ":resolved"
        occurred_at = _time(f, "resolved_on") or alert_time

    severity = (_text(f, "severity") or "").lower()
    hostname = _text(f, "hostname")
    message = _text(f, "message") or ""
    return NormalizedEvent(
        provider=Provider.TACTICALRMM,
        kind=kind,
        external_alert_id=occurrence,
        series_key=series,
        # Tactical templates expose no stable client id: mappings use the client name.
        device=Device(
            external_id=agent_id,
            name=hostname or agent_id,
            external_org_id=_text(f, "client"),
        ),
        severity=SEVERITIES.get(severity, Severity.NONE),
        condition_identity=identity,
        title=message or f"{alert_type} alert on {hostname or agent_id}",
        message=message,
        occurred_at=occurred_at,
        activity_type=alert_type,
        alert_class=_text(f, "check_type") or "",
        source_type=_text(f, "monitoring_type") or "",
        raw=f.data,
    )


def _condition_identity(f: Fields, alert_type: str) -> str:
    """What failed, stable across occurrences: the check or task row, else the alert type.

    Ids rather than descriptions: a check's description includes its
    thresholds, and editing them must not open a second ticket.
    """
    check_id = _text(f, "check_id")
    if check_id is not None:
        return f"check:{check_id}"
    task_id = _text(f, "task_id")
    if task_id is not None:
        return f"task:{task_id}"
    return alert_type  # "availability" (agent overdue) or "custom"
