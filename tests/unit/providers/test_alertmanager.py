"""Alertmanager webhook groups: one event per alert, status per alert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fleetward.adapters.providers import ProviderSettings
from fleetward.domain.alerts import Device, EventKind, Ignored, Provider, Severity
from fleetward.domain.errors import PayloadError
from tests.unit.providers.samples import events, load, one, replaced, run, without

P = Provider.ALERTMANAGER
WEB01 = "5c7e0b1a3d9f2e48"
WEB02 = "9a2b4c6d8e0f1a3b"


def sample(name: str) -> Any:
    return load(P, name)


def test_one_event_per_alert_of_the_group() -> None:
    body = sample("group_two_firing.json")
    first, second = events(P, body)
    assert first.provider is Provider.ALERTMANAGER
    assert first.kind is second.kind is EventKind.TRIGGERED
    assert first.series_key == WEB01
    assert second.series_key == WEB02
    # Go's nanoseconds are cut to microseconds; the id uses the UTC instant.
    assert first.external_alert_id == f"{WEB01}:2024-05-01T09:30:12.345678+00:00"
    assert second.external_alert_id == f"{WEB02}:2024-05-01T09:31:02.500000+00:00"
    assert first.device == Device(
        external_id="web01.contoso.example:9100",
        name="web01.contoso.example:9100",
        external_org_id="contoso",
    )
    assert second.device.external_id == "web02.contoso.example:9100"
    assert first.severity is Severity.MODERATE
    assert first.condition_identity == second.condition_identity == "HostHighCpuLoad"
    assert first.title == "High CPU load on web01.contoso.example:9100"
    assert first.message.startswith("CPU load is above 85%")
    assert first.occurred_at == datetime(2024, 5, 1, 9, 30, 12, 345678, tzinfo=UTC)
    assert first.occurred_at.tzinfo is UTC
    assert first.alert_class == "HostHighCpuLoad"
    assert first.source_type == "node"
    assert first.activity_type == ""
    # raw is that alert's own entry, not the whole group.
    assert first.raw is body["alerts"][0]


def test_a_resent_group_repeats_the_firing_occurrence_and_resolves_the_other() -> None:
    before = events(P, sample("group_two_firing.json"))
    still_firing, resolved = events(P, sample("group_firing_and_resolved.json"))
    # The still-firing alert is the same occurrence: its replay is a no-op.
    assert still_firing.kind is EventKind.TRIGGERED
    assert still_firing.external_alert_id == before[0].external_alert_id
    # The resolved one pairs with its trigger and has an id of its own.
    assert resolved.kind is EventKind.RESET
    assert resolved.series_key == before[1].series_key
    assert resolved.external_alert_id == f"{before[1].external_alert_id}:resolved"
    assert resolved.occurred_at == datetime(2024, 5, 1, 9, 47, 32, tzinfo=UTC)


def test_status_is_read_per_alert_never_from_the_group() -> None:
    body = sample("group_two_firing.json") | {"status": "resolved"}
    assert {e.kind for e in events(P, body)} == {EventKind.TRIGGERED}
    body = sample("group_firing_and_resolved.json")
    assert body["status"] == "firing"
    assert events(P, body)[1].kind is EventKind.RESET


def test_the_same_alert_firing_again_later_is_a_new_occurrence() -> None:
    body = sample("group_two_firing.json")
    body["alerts"][0]["startsAt"] = "2024-05-02T08:00:00Z"
    again = events(P, body)[0]
    assert again.series_key == WEB01
    assert again.external_alert_id == f"{WEB01}:2024-05-02T08:00:00+00:00"


def test_a_firing_alerts_end_time_is_never_read() -> None:
    body = sample("group_two_firing.json")
    body["alerts"][0]["endsAt"] = "not a time"
    del body["alerts"][1]["endsAt"]
    assert len(events(P, body)) == 2


def test_service_alert_without_host_uses_the_job_as_device() -> None:
    event = one(P, sample("service_alert_without_host.json"))
    assert event.device == Device(
        external_id="alertmanager:backup-exporter", name="backup-exporter", external_org_id=None
    )
    assert event.severity is Severity.NONE  # "page" is not in the table
    assert event.title == "Nightly backup failed"
    assert event.message == "Nightly backup failed"  # no description: the summary
    assert event.source_type == "backup-exporter"


def test_without_job_either_the_alert_name_is_the_device() -> None:
    body = sample("service_alert_without_host.json")
    del body["alerts"][0]["labels"]["job"]
    event = one(P, body)
    assert event.device.external_id == "alertmanager:BackupJobFailed"
    assert event.source_type == ""


def test_host_label_when_there_is_no_instance() -> None:
    body = sample("service_alert_without_host.json")
    body["alerts"][0]["labels"]["host"] = "nas01"
    assert one(P, body).device.external_id == "nas01"


def test_the_client_label_is_configurable() -> None:
    body = sample("service_alert_without_host.json")
    settings = ProviderSettings(client_label="customer")
    assert one(P, body, settings).device.external_org_id == "fabrikam"
    # The default label is absent on this alert, and the configured one is
    # not read with default settings.
    assert one(P, body).device.external_org_id is None


def test_title_and_message_without_annotations() -> None:
    body = sample("service_alert_without_host.json")
    del body["alerts"][0]["annotations"]
    event = one(P, body)
    assert event.title == "BackupJobFailed"
    assert event.message == ""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("critical", Severity.CRITICAL),
        ("error", Severity.MAJOR),
        ("warning", Severity.MODERATE),
        ("info", Severity.MINOR),
        ("Critical", Severity.CRITICAL),
        ("page", Severity.NONE),
        ("none", Severity.NONE),
        (None, Severity.NONE),
    ],
)
def test_severity_table(given: str | None, expected: Severity) -> None:
    body = sample("service_alert_without_host.json")
    labels = body["alerts"][0]["labels"]
    if given is None:
        del labels["severity"]
    else:
        labels["severity"] = given
    assert one(P, body).severity is expected


def test_an_empty_group_is_ignored() -> None:
    body = sample("group_two_firing.json") | {"alerts": []}
    [item] = run(P, body)
    assert isinstance(item, Ignored)


def test_version_may_be_absent_but_not_another_version() -> None:
    assert len(events(P, without(sample("group_two_firing.json"), "version"))) == 2
    with pytest.raises(PayloadError) as caught:
        run(P, sample("group_two_firing.json") | {"version": "5"})
    assert caught.value.field == "version"


def _alert(index: int, change: Any) -> Any:
    def apply(body: Any) -> Any:
        body["alerts"][index] = change(body["alerts"][index])
        return body

    return apply


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda b: without(b, "alerts"), "alerts", "missing field 'alerts'"),
        (lambda b: b | {"alerts": {"0": {}}}, "alerts", "expected a list in 'alerts'"),
        (
            lambda b: b | {"alerts": ["firing"]},
            "alerts[0]",
            "expected a JSON object in 'alerts[0]'",
        ),
        (_alert(0, lambda a: without(a, "status")), "alerts[0].status", "missing field"),
        (
            _alert(0, lambda a: a | {"status": "pending"}),
            "alerts[0].status",
            "'firing' or 'resolved'",
        ),
        (_alert(0, lambda a: without(a, "labels")), "alerts[0].labels", "missing field"),
        (_alert(0, lambda a: a | {"labels": ["x"]}), "alerts[0].labels", "JSON object"),
        (
            _alert(0, lambda a: without(a, "labels", "alertname")),
            "alerts[0].labels.alertname",
            "missing field 'alerts[0].labels.alertname'",
        ),
        (
            _alert(0, lambda a: replaced(a, 2, "labels", "severity")),
            "alerts[0].labels.severity",
            "expected a string in 'alerts[0].labels.severity'",
        ),
        (_alert(1, lambda a: without(a, "fingerprint")), "alerts[1].fingerprint", "missing field"),
        (_alert(0, lambda a: without(a, "startsAt")), "alerts[0].startsAt", "missing field"),
        (
            _alert(0, lambda a: a | {"startsAt": "yesterday"}),
            "alerts[0].startsAt",
            "expected an ISO 8601 time in 'alerts[0].startsAt'",
        ),
        (
            _alert(0, lambda a: a | {"startsAt": 1714555812}),
            "alerts[0].startsAt",
            "expected an ISO 8601 time",
        ),
        (
            _alert(0, lambda a: a | {"startsAt": "2024-05-01T09:30:12"}),
            "alerts[0].startsAt",
            "with a UTC offset",
        ),
        (
            _alert(0, lambda a: a | {"startsAt": "0001-01-01T00:00:00+01:00"}),
            "alerts[0].startsAt",
            "out of range",
        ),
        (_alert(0, lambda a: a | {"annotations": "x"}), "alerts[0].annotations", "JSON object"),
        (
            _alert(1, lambda a: without(a | {"status": "resolved"}, "endsAt")),
            "alerts[1].endsAt",
            "missing field 'alerts[1].endsAt'",
        ),
    ],
)
def test_invalid_bodies_name_the_field(change: Any, field: str, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, change(sample("group_two_firing.json")))
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize("body", [[], "firing", 4, None])
def test_a_body_that_is_not_an_object(body: Any) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, body)
    assert caught.value.field == "body"
