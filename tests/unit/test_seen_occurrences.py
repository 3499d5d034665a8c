"""The memory that answers replays without the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fleetward.domain.alerts import (
    Device,
    EventKind,
    Ignored,
    IngestResult,
    NormalizedEvent,
    Provider,
    Severity,
)
from fleetward.services.ingest_alerts import Outcome, SeenOccurrences

INTEGRATION = uuid.uuid4()


def event(external_id: str, kind: EventKind = EventKind.TRIGGERED) -> NormalizedEvent:
    return NormalizedEvent(
        Provider.GENERIC,
        kind,
        external_id,
        "series",
        Device("pc-1"),
        Severity.MINOR,
        "cpu",
        "CPU high",
        "",
        datetime.now(UTC),
    )


def test_a_committed_trigger_is_answered_as_a_duplicate_of_its_alert() -> None:
    seen = SeenOccurrences()
    alert_id = uuid.uuid4()
    seen.remember(INTEGRATION, [event("a")], [Outcome(IngestResult.CREATED, alert_id)])
    assert seen.answers(INTEGRATION, [event("a")]) == [Outcome(IngestResult.DUPLICATE, alert_id)]


def test_anything_unseen_sends_the_whole_request_to_the_database() -> None:
    seen = SeenOccurrences()
    seen.remember(INTEGRATION, [event("a")], [Outcome(IngestResult.CREATED, uuid.uuid4())])
    assert seen.answers(INTEGRATION, [event("a"), event("b")]) is None
    assert seen.answers(uuid.uuid4(), [event("a")]) is None  # another integration
    # The same id as a reset is another thing altogether.
    assert seen.answers(INTEGRATION, [event("a", EventKind.RESET)]) is None


def test_ignored_items_need_no_memory() -> None:
    assert SeenOccurrences().answers(INTEGRATION, [Ignored("not a condition")]) == [
        Outcome(IngestResult.IGNORED, None)
    ]


def test_memory_is_bounded_oldest_first() -> None:
    seen = SeenOccurrences(size=2)
    for name in ("a", "b", "c"):
        seen.remember(INTEGRATION, [event(name)], [Outcome(IngestResult.CREATED, uuid.uuid4())])
    assert seen.answers(INTEGRATION, [event("a")]) is None
    assert seen.answers(INTEGRATION, [event("c")]) is not None
