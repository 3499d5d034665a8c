"""The control channel's shapes on plain values: the query a form sends, records both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fleetward.domain.agent_config import (
    EventLogQuery,
    record_document,
    record_from_document,
    records_from_answer,
)
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import EventRecord, MinLevel


def test_a_form_query_is_parsed_with_empty_fields_as_absent() -> None:
    query = EventLogQuery.from_text(
        {
            "log": " System ",
            "level": "Warning",
            "event_id": "41",
            "source": "",
            "since": "2025-03-01T09:00:00+01:00",
            "until": None,
            "limit": "",
        }
    )
    assert query == EventLogQuery(
        "System", MinLevel.WARNING, 41, None, datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    )
    assert query.limit == 100
    assert query.command_args() == {
        "log": "System",
        "limit": 100,
        "level": "warning",
        "event_id": 41,
        "since": "2025-03-01T08:00:00Z",
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "log"),
        ({"log": "System", "limit": "-1"}, "limit"),
        ({"log": "System", "limit": "501"}, "limit"),
        ({"log": "System", "event_id": "4.5"}, "event_id"),
        ({"log": "System", "level": "panic"}, "level"),
        ({"log": "System", "since": "2025-03-01 08:00"}, "since"),
        ({"log": "System", "since": "2025-03-01T08:00Z", "until": "2025-03-01T08:00Z"}, "until"),
        ({"log": "Sys\ttem"}, "log"),
        ({"log": "System", "computer": "x"}, "computer"),
    ],
)
def test_a_bad_form_query_names_its_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        EventLogQuery.from_text(values)
    assert refused.value.field == field
    assert field in refused.value.message


def test_a_record_survives_the_trip_to_json_and_back() -> None:
    record = EventRecord(
        log_name="Security",
        provider="Microsoft-Windows-Security-Auditing",
        event_id=4624,
        level=0,
        record_id="981",
        time_created=datetime(2025, 3, 1, 8, 0, 1, 250000, tzinfo=UTC),
        computer="WS-01",
        user_sid="S-1-5-18",
        keywords=0x8020000000000000,
        data={"LogonType": "2", "TargetUserName": "alice"},
    )
    document = record_document(record)
    assert document["time_created"] == "2025-03-01T08:00:01.250000Z"
    assert record_from_document(document) == record
    assert records_from_answer({"records": [document]}, 1) == [document]
