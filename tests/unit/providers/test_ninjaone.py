"""NinjaOne condition activities, from the recorded samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleetward.domain.alerts import Device, EventKind, Ignored, Provider, Severity
from fleetward.domain.errors import PayloadError
from tests.unit.providers.samples import load, one, replaced, run, without

P = Provider.NINJAONE
SERIES = "3f1c9e2a-7b4d-4e8f-9a61-2c5d8e0b7f13"


def sample(name: str) -> Any:
    return load(P, name)


def test_trigger_carries_every_field_a_rule_or_ticket_reads() -> None:
    body = sample("condition_triggered.json")
    event = one(P, body)
    assert event.provider is Provider.NINJAONE
    assert event.kind is EventKind.TRIGGERED
    assert event.external_alert_id == "918273"
    assert event.series_key == SERIES
    assert event.device == Device(external_id="1042", name="ACCT-WS-07", external_org_id="7")
    assert event.severity is Severity.MAJOR
    assert event.condition_identity == "vmm_cond_cpu_usage_ge"
    assert event.title == "CPU usage above 90% for 5 minutes"
    assert event.message.startswith("CPU utilization on ACCT-WS-07")
    # A float epoch keeps its fraction, and the time is aware UTC.
    assert event.occurred_at == datetime(2024, 5, 1, 9, 30, 12, 250000, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.activity_type == "CONDITION"
    assert event.alert_class == "vmm_cond_cpu_usage_ge"
    assert event.source_type == "WINDOWS_WORKSTATION"
    assert event.raw is body


def test_reset_pairs_with_its_trigger_by_series_and_is_its_own_occurrence() -> None:
    trigger = one(P, sample("condition_triggered.json"))
    reset = one(P, sample("condition_reset.json"))
    assert reset.kind is EventKind.RESET
    assert reset.series_key == trigger.series_key
    assert reset.external_alert_id == "918455" != trigger.external_alert_id
    assert reset.condition_identity == trigger.condition_identity
    assert reset.device == trigger.device
    assert reset.occurred_at == datetime(2024, 5, 1, 9, 52, 40, tzinfo=UTC)


def test_acknowledgement() -> None:
    ack = one(P, sample("condition_acknowledged.json"))
    assert ack.kind is EventKind.ACKNOWLEDGED
    assert ack.series_key == SERIES
    assert ack.external_alert_id == "918302"
    assert ack.occurred_at == datetime(2024, 5, 1, 9, 41, 5, tzinfo=UTC)


def test_iso_time_string_id_and_organisation_at_top_level() -> None:
    event = one(P, sample("condition_triggered_iso_org_top_level.json"))
    assert event.external_alert_id == "920001"
    assert event.occurred_at == datetime(2024, 5, 1, 9, 30, 12, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC
    assert event.device == Device(external_id="2210", name="FS01", external_org_id="12")
    assert event.severity is Severity.CRITICAL
    assert event.source_type == "WINDOWS_SERVER"


def test_device_organisation_wins_over_top_level() -> None:
    body = replaced(sample("condition_triggered.json"), 99, "organizationId")
    assert one(P, body).device.external_org_id == "7"


def test_without_series_uid_code_or_subject_it_falls_back_to_source_config() -> None:
    event = one(P, sample("condition_triggered_no_series.json"))
    assert event.series_key == "d4c3b2a1-0f9e-4d8c-b7a6-5e4d3c2b1a09:3301"
    assert event.condition_identity == "d4c3b2a1-0f9e-4d8c-b7a6-5e4d3c2b1a09"
    assert event.title == "Print Spooler service stopped"
    assert event.device == Device(external_id="3301", name="3301", external_org_id="12")
    assert event.alert_class == ""
    assert event.source_type == ""
    assert event.severity is Severity.MINOR


def test_without_source_config_the_source_name_is_the_condition() -> None:
    body = without(sample("condition_triggered_no_series.json"), "sourceConfigUid")
    event = one(P, body)
    assert event.condition_identity == "Print Spooler service stopped"
    assert event.series_key == "Print Spooler service stopped:3301"


def test_device_id_from_the_device_object_alone() -> None:
    body = without(sample("condition_triggered.json"), "deviceId")
    assert one(P, body).device.external_id == "1042"


def test_device_name_falls_back_to_system_name() -> None:
    body = without(sample("condition_triggered.json"), "device", "displayName")
    assert one(P, body).device.name == "DESKTOP-4K2J9QX"


@pytest.mark.parametrize("name", ["system_activity.json"])
def test_other_activity_types_are_ignored(name: str) -> None:
    [item] = run(P, sample(name))
    assert isinstance(item, Ignored)
    assert "SYSTEM" in item.reason


def test_a_non_condition_needs_no_device_or_status() -> None:
    [item] = run(P, {"activityType": "PATCH_MANAGEMENT"})
    assert item == Ignored("activity type PATCH_MANAGEMENT is not an alert condition")


def test_condition_actions_are_not_conditions() -> None:
    body = replaced(sample("condition_triggered.json"), "CONDITION_ACTIONSET", "activityType")
    assert isinstance(run(P, body)[0], Ignored)


def test_unknown_condition_status_is_ignored_not_rejected() -> None:
    body = replaced(sample("condition_triggered.json"), "SNOOZED", "statusCode")
    [item] = run(P, body)
    assert isinstance(item, Ignored)
    assert "SNOOZED" in item.reason


@pytest.mark.parametrize(
    ("status_code", "kind"),
    [
        ("reset", EventKind.RESET),
        ("Triggered", EventKind.TRIGGERED),
        (" acknowledged ", EventKind.ACKNOWLEDGED),
    ],
)
def test_status_and_activity_type_are_case_insensitive(status_code: str, kind: EventKind) -> None:
    body = replaced(sample("condition_triggered.json"), status_code, "statusCode")
    body["activityType"] = "condition"
    assert one(P, body).kind is kind


def test_status_and_type_stand_in_for_status_code_and_activity_type() -> None:
    body = without(without(sample("condition_reset.json"), "statusCode"), "activityType")
    event = one(P, body)
    assert event.kind is EventKind.RESET  # from "status": "Reset"
    assert event.activity_type == "Condition"  # from "type"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("CRITICAL", Severity.CRITICAL),
        ("MAJOR", Severity.MAJOR),
        ("MODERATE", Severity.MODERATE),
        ("MINOR", Severity.MINOR),
        ("NONE", Severity.NONE),
        ("critical", Severity.CRITICAL),
        ("SEVERE", Severity.NONE),  # a value NinjaOne might add must not drop the alert
        (None, Severity.NONE),
    ],
)
def test_severity_table(given: str | None, expected: Severity) -> None:
    body = replaced(sample("condition_triggered.json"), given, "severity")
    assert one(P, body).severity is expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1714555812, datetime(2024, 5, 1, 9, 30, 12, tzinfo=UTC)),
        (1714555812.5, datetime(2024, 5, 1, 9, 30, 12, 500000, tzinfo=UTC)),
        ("1714555812", datetime(2024, 5, 1, 9, 30, 12, tzinfo=UTC)),
        ("2024-05-01T09:30:12Z", datetime(2024, 5, 1, 9, 30, 12, tzinfo=UTC)),
        ("2024-05-01T04:30:12-05:00", datetime(2024, 5, 1, 9, 30, 12, tzinfo=UTC)),
        ("2024-05-01T09:30:12", datetime(2024, 5, 1, 9, 30, 12, tzinfo=UTC)),  # bare: UTC
    ],
)
def test_activity_time_forms(given: Any, expected: datetime) -> None:
    event = one(P, replaced(sample("condition_triggered.json"), given, "activityTime"))
    assert event.occurred_at == expected
    assert event.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("body", [[], "CONDITION", 42, None, True, [{"id": 1}]])
def test_a_body_that_is_not_an_object(body: Any) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, body)
    assert caught.value.field == "body"


def _drop(*path: str) -> Any:
    return lambda body: without(body, *path)


def _set(value: Any, *path: str) -> Any:
    return lambda body: replaced(body, value, *path)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (_drop("id"), "id", "missing field 'id'"),
        (
            lambda b: without(without(b, "statusCode"), "status"),
            "statusCode",
            "missing field 'statusCode'",
        ),
        (
            lambda b: without(without(b, "activityType"), "type"),
            "activityType",
            "missing field 'activityType'",
        ),
        (_drop("activityTime"), "activityTime", "missing field 'activityTime'"),
        (
            _set("yesterday", "activityTime"),
            "activityTime",
            "expected a number or ISO time in 'activityTime'",
        ),
        (
            _set("2024-05-01", "activityTime"),
            "activityTime",
            "expected a number or ISO time in 'activityTime'",
        ),
        (
            _set(True, "activityTime"),
            "activityTime",
            "expected a number or ISO time in 'activityTime'",
        ),
        (_set(1e20, "activityTime"), "activityTime", "time out of range in 'activityTime'"),
        (_set(1.5, "id"), "id", "expected a string or integer id in 'id'"),
        (_set(True, "id"), "id", "expected a string or integer id in 'id'"),
        (_set(3, "severity"), "severity", "expected a string in 'severity'"),
        (_set(7, "statusCode"), "statusCode", "expected a string in 'statusCode'"),
        (_set("1042", "device"), "device", "expected a JSON object in 'device'"),
        (
            lambda b: without(without(b, "deviceId"), "device"),
            "deviceId",
            "missing field 'deviceId'",
        ),
        (_set([7], "device", "organizationId"), "device.organizationId", "'device.organizationId'"),
        (
            _set("text", "data", "message"),
            "data.message",
            "expected a JSON object in 'data.message'",
        ),
        (
            lambda b: without(without(without(b, "data"), "sourceConfigUid"), "sourceName"),
            "sourceConfigUid",
            "missing field 'sourceConfigUid'",
        ),
    ],
)
def test_invalid_bodies_name_the_field(change: Any, field: str, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, change(sample("condition_triggered.json")))
    assert caught.value.field == field
    assert message in caught.value.message
