"""When a ticket counts as worked on, and the checks on what people type into tickets."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetward.domain.errors import InvalidInput
from fleetward.domain.tickets import TicketActivity, may_auto_resolve, untouched
from fleetward.services.boards import short_name
from fleetward.services.tickets import ticket_title

NEW, IN_PROGRESS = uuid.uuid4(), uuid.uuid4()

FRESH = TicketActivity(
    status_id=NEW,
    board_default_status_id=NEW,
    user_comments=0,
    time_entries=0,
    other_active_alerts=0,
)


def test_a_fresh_ticket_is_untouched_and_its_reset_may_close_it() -> None:
    assert untouched(FRESH)
    assert may_auto_resolve(FRESH)


@pytest.mark.parametrize(
    "work",
    [
        {"user_comments": 1},
        {"time_entries": 1},
        {"status_id": IN_PROGRESS},
    ],
    ids=["a person's comment", "a time entry", "a status change"],
)
def test_any_work_by_a_person_makes_the_ticket_touched(work: dict[str, object]) -> None:
    worked = dataclasses.replace(FRESH, **work)  # type: ignore[arg-type]
    assert not untouched(worked)
    assert not may_auto_resolve(worked)


def test_another_active_alert_keeps_an_untouched_ticket_open() -> None:
    busy = dataclasses.replace(FRESH, other_active_alerts=1)
    assert untouched(busy)
    assert not may_auto_resolve(busy)


@given(
    comments=st.integers(0, 3),
    entries=st.integers(0, 3),
    alerts=st.integers(0, 3),
    moved=st.booleans(),
)
def test_auto_resolve_needs_exactly_no_work_and_no_other_alert(
    comments: int, entries: int, alerts: int, moved: bool
) -> None:
    activity = TicketActivity(IN_PROGRESS if moved else NEW, NEW, comments, entries, alerts)
    assert untouched(activity) == (not moved and comments == 0 and entries == 0)
    assert may_auto_resolve(activity) == (untouched(activity) and alerts == 0)


def test_titles_are_trimmed_to_one_line() -> None:
    assert ticket_title("  Printer\n  jams\tagain ") == "Printer jams again"
    assert ticket_title("x" * 500) == "x" * 500


@pytest.mark.parametrize("title", ["", "   ", "\n\t", "x" * 501])
def test_empty_or_overlong_titles_are_refused_naming_the_field(title: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        ticket_title(title)
    assert refused.value.field == "title"


def test_status_and_priority_names_are_short_labels() -> None:
    assert short_name("  On   hold ") == "On hold"
    with pytest.raises(InvalidInput) as refused:
        short_name("x" * 101)
    assert refused.value.field == "name"
