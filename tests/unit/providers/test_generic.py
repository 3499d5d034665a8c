"""The generic JSON shape: read strictly, documented in docs/providers/generic.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fleetward.domain.alerts import Device, EventKind, Provider, Severity
from fleetward.domain.errors import PayloadError
from tests.unit.providers.samples import json_blocks, load, one, replaced, run, without

P = Provider.GENERIC


def sample(name: str) -> Any:
    return load(P, name)


def test_trigger_with_every_field() -> None:
    body = sample("trigger.json")
    event = one(P, body)
    assert event.provider is Provider.GENERIC
    assert event.kind is EventKind.TRIGGERED
    assert event.external_alert_id == "uptime-7731-1714555812"
    assert event.series_key == "uptime-7731"
    assert event.device == Device(
        external_id="shop.contoso.example", name="Contoso web shop", external_org_id="contoso"
    )
    assert event.severity is Severity.CRITICAL
    assert event.condition_identity == "http-check"
    assert event.title == "Web shop is down"
    assert event.message.startswith("HTTPS check failed")
    assert event.occurred_at == datetime(2024, 5, 1, 9, 30, 12, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC
    assert (event.activity_type, event.alert_class, event.source_type) == (
        "uptime",
        "http",
        "website",
    )
    assert event.raw is body


def test_reset_pairs_by_series_key_and_defaults_the_optional_fields() -> None:
    trigger = one(P, sample("trigger.json"))
    reset = one(P, sample("reset.json"))
    assert reset.kind is EventKind.RESET
    assert reset.series_key == trigger.series_key
    assert reset.external_alert_id != trigger.external_alert_id
    assert reset.occurred_at == datetime(2024, 5, 1, 9, 41, 5, tzinfo=UTC)
    assert (reset.message, reset.activity_type, reset.alert_class, reset.source_type) == (
        "",
        "",
        "",
        "",
    )


def test_a_trigger_without_series_key_is_its_own_series() -> None:
    event = one(P, without(sample("trigger.json"), "series_key"))
    assert event.series_key == "uptime-7731-1714555812"


@pytest.mark.parametrize("kind", ["reset", "acknowledged"])
def test_a_reset_or_acknowledgement_must_name_its_series(kind: str) -> None:
    body = without(sample("reset.json"), "series_key") | {"kind": kind}
    with pytest.raises(PayloadError) as caught:
        run(P, body)
    assert caught.value.field == "series_key"
    assert "missing field 'series_key'" in caught.value.message


def test_acknowledged() -> None:
    body = sample("reset.json") | {"kind": "acknowledged"}
    assert one(P, body).kind is EventKind.ACKNOWLEDGED


def test_defaults_for_identity_and_device() -> None:
    body = without(sample("trigger.json"), "condition_identity")
    body["device"] = {"external_id": 5501}
    event = one(P, body)
    assert event.condition_identity == "Web shop is down"
    assert event.device == Device(external_id="5501", name="5501", external_org_id=None)


def test_null_optional_fields_read_as_absent() -> None:
    body = sample("trigger.json") | {"message": None, "series_key": None, "alert_class": None}
    event = one(P, body)
    assert (event.message, event.series_key, event.alert_class) == (
        "",
        "uptime-7731-1714555812",
        "",
    )


def test_integer_ids_are_read_as_text() -> None:
    body = sample("trigger.json") | {"external_alert_id": 17, "series_key": 9}
    body["device"]["external_org_id"] = 7
    event = one(P, body)
    assert (event.external_alert_id, event.series_key) == ("17", "9")
    assert event.device.external_org_id == "7"


@pytest.mark.parametrize("severity", [s.value for s in Severity])
def test_every_severity(severity: str) -> None:
    assert one(P, sample("trigger.json") | {"severity": severity}).severity.value == severity


@pytest.mark.parametrize("severity", ["urgent", "Critical", "", 3])
def test_unknown_severity_is_an_error(severity: Any) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, sample("trigger.json") | {"severity": severity})
    assert caught.value.field == "severity"


def test_the_documented_examples_are_valid() -> None:
    blocks = json_blocks("generic.md")
    assert len(blocks) == 2
    trigger, reset = (one(P, json.loads(b)) for b in blocks)
    assert trigger.kind is EventKind.TRIGGERED
    assert reset.kind is EventKind.RESET
    assert reset.series_key == trigger.series_key


@pytest.mark.parametrize(
    "missing", ["kind", "external_alert_id", "device", "severity", "title", "occurred_at"]
)
def test_each_required_field(missing: str) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, without(sample("trigger.json"), missing))
    assert caught.value.field == missing
    assert f"missing field '{missing}'" in caught.value.message


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda b: b | {"sevrity": "critical"}, "sevrity", "unknown field 'sevrity'"),
        (lambda b: replaced(b, "x", "device", "id"), "device.id", "unknown field 'device.id'"),
        (lambda b: without(b, "device", "external_id"), "device.external_id", "missing field"),
        (lambda b: b | {"device": "shop"}, "device", "expected a JSON object in 'device'"),
        (
            lambda b: b | {"kind": "resolved"},
            "kind",
            "expected one of triggered, reset, acknowledged",
        ),
        (lambda b: b | {"title": ""}, "title", "missing field 'title'"),
        (lambda b: b | {"title": 5}, "title", "expected a string in 'title'"),
        (
            lambda b: b | {"occurred_at": "2024-05-01T09:30:12"},
            "occurred_at",
            "expected an ISO 8601 time with a UTC offset in 'occurred_at'",
        ),
        (lambda b: b | {"occurred_at": 1714555812}, "occurred_at", "expected an ISO 8601 time"),
        (
            lambda b: b | {"occurred_at": "01/05/2024 09:30"},
            "occurred_at",
            "expected an ISO 8601 time",
        ),
        (lambda b: b | {"external_alert_id": 1.5}, "external_alert_id", "string or integer id"),
        (lambda b: b | {"external_alert_id": " "}, "external_alert_id", "missing field"),
    ],
)
def test_invalid_bodies_name_the_field(change: Any, field: str, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, change(sample("trigger.json")))
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize("body", [[{}], "triggered", 1.5, None, False])
def test_a_body_that_is_not_an_object(body: Any) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, body)
    assert caught.value.field == "body"
