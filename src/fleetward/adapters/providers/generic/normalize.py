"""Fleetward's generic JSON (docs/providers/generic.md) to one NormalizedEvent.

The sender writes this shape on purpose, so it is read strictly: unknown
fields and unknown values are errors, because a typo silently ignored would
be an alert silently lost or mis-filed.
"""

from __future__ import annotations

from typing import Any, TypeVar

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

REQUIRED = ("kind", "external_alert_id", "device", "severity", "title", "occurred_at")
OPTIONAL = (
    "series_key",
    "condition_identity",
    "message",
    "activity_type",
    "alert_class",
    "source_type",
)
DEVICE_FIELDS = ("external_id", "name", "external_org_id")

_Choice = TypeVar("_Choice", EventKind, Severity)


def normalize(body: Any, settings: ProviderSettings) -> list[NormalizedEvent | Ignored]:
    del settings  # the generic shape carries everything itself
    return [_event(Fields(body))]


def _reject_unknown(f: Fields, known: tuple[str, ...]) -> None:
    for key in f.data:
        if key not in known:
            field = f.name(str(key))
            raise PayloadError(f"unknown field '{field}'", field)


def _choice(f: Fields, key: str, enum: type[_Choice]) -> _Choice:
    value = f.required_text(key)
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise PayloadError(f"expected one of {allowed} in '{f.name(key)}'", f.name(key)) from None


def _event(f: Fields) -> NormalizedEvent:
    _reject_unknown(f, REQUIRED + OPTIONAL)
    kind = _choice(f, "kind", EventKind)
    occurrence = f.required_ident("external_alert_id")
    series = f.ident("series_key")
    if series is None:
        # A trigger may leave it out (its series is itself); a reset or an
        # acknowledgement without one would pair with nothing.
        if kind is not EventKind.TRIGGERED:
            raise PayloadError(
                f"missing field 'series_key': a {kind.value} event must name the"
                " series_key of its trigger",
                "series_key",
            )
        series = occurrence

    device = f.obj("device")
    if device is None:
        raise f.missing("device")
    _reject_unknown(device, DEVICE_FIELDS)
    device_id = device.required_ident("external_id")

    if not f.has("occurred_at"):
        raise f.missing("occurred_at")
    title = f.required_text("title")
    return NormalizedEvent(
        provider=Provider.GENERIC,
        kind=kind,
        external_alert_id=occurrence,
        series_key=series,
        device=Device(
            external_id=device_id,
            name=device.text("name") or device_id,
            external_org_id=device.ident("external_org_id"),
        ),
        severity=_choice(f, "severity", Severity),
        condition_identity=f.text("condition_identity") or title,
        title=title,
        message=f.text("message") or "",
        # No clock in a normaliser, and a guessed zone is a wrong time: an
        # explicit offset is required.
        occurred_at=parse_time(
            f.data["occurred_at"], "occurred_at", epoch=False, naive_is_utc=False
        ),
        activity_type=f.text("activity_type") or "",
        alert_class=f.text("alert_class") or "",
        source_type=f.text("source_type") or "",
        raw=f.data,
    )
