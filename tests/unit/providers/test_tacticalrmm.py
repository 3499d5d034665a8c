"""Tactical RMM web hooks, as rendered from the body templates in the docs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from fleetward.domain.alerts import Device, EventKind, Provider, Severity
from fleetward.domain.errors import PayloadError
from tests.unit.providers.samples import json_blocks, load, one, replaced, run, without

P = Provider.TACTICALRMM
AGENT = "qJvTnWmEoRkLxYbHcZdPfSaGuIi"
ALERT_TIME = "2024-05-01T09:30:12.345678+00:00"


def sample(name: str) -> Any:
    return load(P, name)


def test_trigger() -> None:
    body = sample("alert_trigger.json")
    event = one(P, body)
    assert event.provider is Provider.TACTICALRMM
    assert event.kind is EventKind.TRIGGERED
    assert event.external_alert_id == f"4817:{ALERT_TIME}"
    assert event.series_key == "4817"
    # The client name is the organisation: Tactical templates have no client id.
    assert event.device == Device(external_id=AGENT, name="FS01", external_org_id="Contoso Ltd")
    assert event.severity is Severity.CRITICAL
    assert event.condition_identity == "check:233"
    assert event.title.startswith("FS01 has a diskspace check")
    assert event.message == event.title
    assert event.occurred_at == datetime(2024, 5, 1, 9, 30, 12, 345678, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC
    assert event.activity_type == "check"
    assert event.alert_class == "diskspace"
    assert event.source_type == "server"
    assert event.raw is body


def test_resolved_pairs_with_its_trigger_and_is_its_own_occurrence() -> None:
    trigger = one(P, sample("alert_trigger.json"))
    resolved = one(P, sample("alert_resolved.json"))
    assert resolved.kind is EventKind.RESET
    assert resolved.series_key == trigger.series_key == "4817"
    assert resolved.external_alert_id == f"4817:{ALERT_TIME}:resolved"
    assert resolved.condition_identity == trigger.condition_identity
    assert resolved.device == trigger.device
    assert resolved.occurred_at == datetime(2024, 5, 1, 10, 2, 47, 118204, tzinfo=UTC)


def test_a_resent_trigger_is_the_same_occurrence() -> None:
    first = one(P, sample("alert_trigger.json"))
    again = one(P, sample("alert_trigger.json"))
    assert again == first


def test_the_next_failure_after_a_resolve_is_a_new_occurrence() -> None:
    # Tactical opens a new alert row (new id, new alert_time) for it.
    body = replaced(sample("alert_trigger.json"), "4830", "alert_id")
    body["alert_time"] = "2024-05-02 07:00:00.5+00:00"
    first = one(P, sample("alert_trigger.json"))
    later = one(P, body)
    assert later.external_alert_id != first.external_alert_id
    assert later.condition_identity == first.condition_identity


def test_availability_alert_with_unresolved_variables() -> None:
    event = one(P, sample("availability_trigger.json"))
    assert event.condition_identity == "availability"
    assert event.series_key == "4821"
    assert event.alert_class == ""  # check_type rendered as "None"
    assert event.source_type == "workstation"
    assert event.device.name == "ACCT-WS-07"
    assert event.occurred_at == datetime(2024, 5, 1, 9, 45, tzinfo=UTC)


def test_task_alert_identity() -> None:
    body = replaced(sample("alert_trigger.json"), "None", "check_id")
    body |= {"alert_type": "task", "task_id": "57", "check_type": "None"}
    assert one(P, body).condition_identity == "task:57"


def test_without_alert_id_the_agent_and_condition_are_the_series() -> None:
    trigger = one(P, without(sample("alert_trigger.json"), "alert_id"))
    resolved = one(P, replaced(sample("alert_resolved.json"), "None", "alert_id"))
    assert trigger.series_key == resolved.series_key == f"{AGENT}:check:233"
    assert trigger.external_alert_id == f"{AGENT}:check:233:{ALERT_TIME}"
    assert resolved.external_alert_id == f"{AGENT}:check:233:{ALERT_TIME}:resolved"


def test_numbers_without_quotes_read_as_their_text() -> None:
    body = sample("alert_trigger.json") | {"alert_id": 4817, "check_id": 233}
    assert one(P, body) == one(P, sample("alert_trigger.json"))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("error", Severity.CRITICAL),
        ("warning", Severity.MODERATE),
        ("info", Severity.MINOR),
        ("ERROR", Severity.CRITICAL),
        ("None", Severity.NONE),
        ("fatal", Severity.NONE),
    ],
)
def test_severity_table(given: str, expected: Severity) -> None:
    body = replaced(sample("alert_trigger.json"), given, "severity")
    assert one(P, body).severity is expected


def test_missing_severity_is_none() -> None:
    assert one(P, without(sample("alert_trigger.json"), "severity")).severity is Severity.NONE


@pytest.mark.parametrize(
    "given",
    [
        "2024-05-01 09:30:12.345678+00:00",  # what Tactical prints
        "2024-05-01T09:30:12.345678Z",
        "2024-05-01 11:30:12.345678+02:00",
        "2024-05-01 09:30:12.345678",  # no offset: Tactical's UTC
        "1714555812.345678",
        1714555812.345678,
    ],
)
def test_alert_time_forms(given: Any) -> None:
    event = one(P, replaced(sample("alert_trigger.json"), given, "alert_time"))
    assert event.occurred_at == datetime(2024, 5, 1, 9, 30, 12, 345678, tzinfo=UTC)
    assert event.external_alert_id == f"4817:{ALERT_TIME}"


@pytest.mark.parametrize("resolved_on", ["None", "", None])
def test_resolved_without_resolved_on_uses_alert_time(resolved_on: str | None) -> None:
    body = replaced(sample("alert_resolved.json"), resolved_on, "resolved_on")
    assert one(P, body).occurred_at == datetime(2024, 5, 1, 9, 30, 12, 345678, tzinfo=UTC)


def test_unresolved_client_and_host_read_as_absent() -> None:
    body = sample("availability_trigger.json") | {"client": "None", "hostname": "None"}
    body["message"] = "None"
    event = one(P, body)
    assert event.device == Device(
        external_id="hRcPzKwLsQmNvBxTyDgFjUeAoXi", name=event.device.external_id
    )
    assert event.device.external_org_id is None
    assert event.title == "availability alert on hRcPzKwLsQmNvBxTyDgFjUeAoXi"
    assert event.message == ""


def _render(template: str, values: dict[str, str]) -> Any:
    rendered = re.sub(r"\{\{([^}]+)\}\}", lambda m: values[m.group(1)], template)
    return json.loads(rendered)


VALUES = {
    "alert.id": "4817",
    "alert.alert_time": "2024-05-01 09:30:12.345678+00:00",
    "alert.alert_type": "check",
    "alert.severity": "error",
    "alert.message": (
        "FS01 has a diskspace check: Disk Space Check: Drive C: -  Warning Threshold: 20%"
        " Error Threshold: 10% that failed."
    ),
    "alert.assigned_check.id": "233",
    "alert.assigned_check.check_type": "diskspace",
    "alert.assigned_task.id": "None",
    "agent.agent_id": AGENT,
    "agent.hostname": "FS01",
    "agent.monitoring_type": "server",
    "client.name": "Contoso Ltd",
    "site.name": "Head Office",
    "alert.resolved_on": "2024-05-01 10:02:47.118204+00:00",
}


def test_the_documented_templates_render_to_the_samples() -> None:
    bodies = [b for b in json_blocks("tacticalrmm.md") if "{{alert.id}}" in b]
    assert len(bodies) == 2, "the doc holds one trigger and one resolved body template"
    trigger, resolved = (_render(b, VALUES) for b in bodies)
    assert trigger == sample("alert_trigger.json")
    assert resolved == sample("alert_resolved.json")
    # The documented headers carry the token header the webhook checks.
    headers = json.loads(next(b for b in json_blocks("tacticalrmm.md") if "Content-Type" in b))
    assert set(headers) == {"Content-Type", "X-Fleetward-Token"}


def test_a_body_tactical_could_not_build_as_json_is_rejected() -> None:
    # A message with a double quote breaks Tactical's JSON; it then posts the
    # body as one JSON string.
    with pytest.raises(PayloadError) as caught:
        run(P, '{"event": "trigger", "message": "service "spooler" stopped"}')
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda b: without(b, "event"), "event", "missing field 'event'"),
        (lambda b: b | {"event": "fired"}, "event", "expected 'trigger' or 'resolved' in 'event'"),
        (lambda b: b | {"agent_id": "None"}, "agent_id", "missing field 'agent_id'"),
        (lambda b: without(b, "alert_type"), "alert_type", "missing field 'alert_type'"),
        (lambda b: b | {"alert_time": "None"}, "alert_time", "missing field 'alert_time'"),
        (
            lambda b: b | {"alert_time": "soon"},
            "alert_time",
            "expected a number or ISO time in 'alert_time'",
        ),
        (lambda b: b | {"message": ["x"]}, "message", "expected a string in 'message'"),
        (lambda b: b | {"alert_id": True}, "alert_id", "expected a string in 'alert_id'"),
        (lambda b: b | {"check_id": float("nan")}, "check_id", "expected a string in 'check_id'"),
    ],
)
def test_invalid_bodies_name_the_field(change: Any, field: str, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, change(sample("alert_trigger.json")))
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize("body", [[], "x", 3, None])
def test_a_body_that_is_not_an_object(body: Any) -> None:
    with pytest.raises(PayloadError) as caught:
        run(P, body)
    assert caught.value.field == "body"
