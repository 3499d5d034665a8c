"""Pairing timeline moments into the power, sessions and sleep lanes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fleetward.domain.timeline_lanes import Interval, build_lanes, session_user

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def h(hours: float) -> datetime:
    """A time on DAY, `hours` after midnight UTC."""
    return DAY + timedelta(hours=hours)


@dataclass(frozen=True)
class Ev:
    at: datetime
    kind: str
    payload: Mapping[str, Any] | None = None


def logon(at: float, user: str, logon_id: str | None = None, **extra: Any) -> Ev:
    payload: dict[str, Any] = {"user": user, **extra}
    if logon_id is not None:
        payload["logon_id"] = logon_id
    return Ev(h(at), "logon", payload)


def logoff(at: float, user: str, logon_id: str | None = None) -> Ev:
    payload: dict[str, Any] = {"user": user}
    if logon_id is not None:
        payload["logon_id"] = logon_id
    return Ev(h(at), "logoff", payload)


def spans(intervals: list[Interval]) -> list[tuple[datetime, datetime]]:
    return [(i.start, i.end) for i in intervals]


def test_power_is_on_from_boot_or_resume_until_shutdown_or_sleep() -> None:
    events = [
        Ev(h(8), "boot"),
        Ev(h(12), "sleep"),
        Ev(h(13), "resume"),
        Ev(h(17), "shutdown"),
    ]
    lanes = build_lanes(events, h(0), h(24), now=h(30))
    assert spans(lanes.power) == [(h(8), h(12)), (h(13), h(17))]
    assert spans(lanes.sleep) == [(h(12), h(13))]
    assert not any(i.open_start or i.open_end for i in lanes.power + lanes.sleep)


def test_events_come_in_any_order() -> None:
    events = [Ev(h(17), "shutdown"), Ev(h(8), "boot")]
    assert spans(build_lanes(events, h(0), h(24), now=h(30)).power) == [(h(8), h(17))]


def test_a_machine_still_on_is_drawn_up_to_now_and_not_into_the_future() -> None:
    lanes = build_lanes([Ev(h(8), "boot")], h(0), h(24), now=h(10))
    assert lanes.end == h(10)
    assert spans(lanes.power) == [(h(8), h(10))]
    assert lanes.power[0].open_end


def test_a_range_ending_before_now_cuts_the_interval_at_the_range_end() -> None:
    lanes = build_lanes([Ev(h(8), "boot")], h(0), h(12), now=h(30))
    assert spans(lanes.power) == [(h(8), h(12))]
    assert lanes.power[0].open_end


def test_a_range_in_the_future_draws_nothing() -> None:
    lanes = build_lanes([Ev(h(8), "boot")], h(20), h(30), now=h(10))
    assert lanes.power == [] and lanes.end == h(20)


def test_events_after_now_are_not_used() -> None:
    # A skewed clock sent a shutdown "from the future": the machine is on as far as now goes.
    lanes = build_lanes([Ev(h(8), "boot"), Ev(h(11), "shutdown")], h(0), h(24), now=h(10))
    assert spans(lanes.power) == [(h(8), h(10))]
    assert lanes.power[0].open_end


def test_an_end_without_a_start_began_before_the_range() -> None:
    lanes = build_lanes(
        [Ev(h(9), "shutdown"), logoff(7, "alice", "0x1"), Ev(h(6), "resume")],
        h(0),
        h(24),
        now=h(30),
    )
    # The resume at 6 means it slept until then, and was on until the shutdown at 9.
    assert spans(lanes.sleep) == [(h(0), h(6))]
    assert lanes.sleep[0].open_start
    assert spans(lanes.power) == [(h(6), h(9))]
    assert spans(lanes.sessions["alice"]) == [(h(0), h(7))]
    assert lanes.sessions["alice"][0].open_start


def test_a_second_end_in_a_row_changes_nothing() -> None:
    events = [Ev(h(8), "boot"), Ev(h(10), "sleep"), Ev(h(11), "shutdown")]
    lanes = build_lanes(events, h(0), h(24), now=h(30))
    assert spans(lanes.power) == [(h(8), h(10))]
    # It went from sleep to off without waking: the sleep ends there.
    assert spans(lanes.sleep) == [(h(10), h(11))]
    assert lanes.sleep[0].note == "no resume recorded"


def test_events_before_the_range_set_the_state_it_starts_in() -> None:
    events = [Ev(h(-30), "boot"), Ev(h(-20), "shutdown"), Ev(h(-5), "boot"), Ev(h(3), "shutdown")]
    lanes = build_lanes(events, h(0), h(24), now=h(30))
    assert spans(lanes.power) == [(h(0), h(3))]
    assert lanes.power[0].open_start and not lanes.power[0].open_end


def test_intervals_wholly_outside_the_range_are_left_out() -> None:
    events = [Ev(h(-30), "boot"), Ev(h(-20), "shutdown"), Ev(h(30), "boot")]
    assert build_lanes(events, h(0), h(24), now=h(40)).power == []


def test_a_boot_while_on_ends_the_earlier_run_where_its_end_went_unrecorded() -> None:
    lanes = build_lanes([Ev(h(8), "boot"), Ev(h(14), "boot")], h(0), h(24), now=h(16))
    assert spans(lanes.power) == [(h(8), h(14)), (h(14), h(16))]
    assert lanes.power[0].note == "no shutdown recorded"


def test_kernel_power_41_written_at_start_up_marks_the_run_before_not_the_new_one() -> None:
    events = [
        Ev(h(8), "boot"),
        Ev(h(14), "boot"),
        Ev(h(14) + timedelta(seconds=40), "unexpected_shutdown"),
    ]
    lanes = build_lanes(events, h(0), h(24), now=h(16))
    assert spans(lanes.power) == [(h(8), h(14)), (h(14), h(16))]
    assert lanes.power[0].note == "ended unexpectedly"
    assert lanes.power[1].open_end


def test_an_unexpected_shutdown_long_after_the_boot_ends_the_run() -> None:
    lanes = build_lanes(
        [Ev(h(8), "boot"), Ev(h(12), "unexpected_shutdown")], h(0), h(24), now=h(16)
    )
    assert spans(lanes.power) == [(h(8), h(12))]
    assert lanes.power[0].note == "ended unexpectedly"


def test_sessions_pair_by_logon_id_and_two_users_overlap_on_their_own_rows() -> None:
    events = [
        Ev(h(7), "boot"),
        logon(8, "alice", "0x10", domain="CONTOSO"),
        logon(9, "bob", "0x20"),
        logon(10, "alice", "0x30", domain="CONTOSO"),  # a second session, e.g. over RDP
        logoff(11, "alice", "0x10"),
        logoff(12, "bob", "0x20"),
    ]
    lanes = build_lanes(events, h(0), h(24), now=h(13))
    assert list(lanes.sessions) == ["CONTOSO\\alice", "bob"]
    alice = lanes.sessions["CONTOSO\\alice"]
    assert spans(alice) == [(h(8), h(11)), (h(10), h(13))]
    assert alice[1].open_end  # still logged on: up to now
    assert spans(lanes.sessions["bob"]) == [(h(9), h(12))]


def test_sessions_without_ids_pair_by_user() -> None:
    events = [logon(8, "alice"), logon(9, "bob"), logoff(10, "alice"), logoff(11, "bob")]
    lanes = build_lanes(events, h(0), h(24), now=h(30))
    assert spans(lanes.sessions["alice"]) == [(h(8), h(10))]
    assert spans(lanes.sessions["bob"]) == [(h(9), h(11))]


def test_journald_sessions_pair_by_session_id() -> None:
    events = [
        Ev(h(8), "logon", {"session_id": "3", "user": "1000"}),
        Ev(h(9), "logon", {"session_id": "4", "user": "1000"}),
        Ev(h(10), "logoff", {"session_id": "3", "user": None}),
    ]
    lanes = build_lanes(events, h(0), h(24), now=h(12))
    # The logoff names no user: the session it closes does.
    assert spans(lanes.sessions["1000"]) == [(h(8), h(10)), (h(9), h(12))]


def test_an_elevated_twin_logon_folds_into_its_session() -> None:
    events = [
        logon(8, "admin", "0xA"),
        logon(8, "admin", "0xB", linked_logon_id="0xA"),
        logoff(12, "admin", "0xB"),
        logoff(12, "admin", "0xA"),
    ]
    lanes = build_lanes(events, h(0), h(24), now=h(30))
    assert spans(lanes.sessions["admin"]) == [(h(8), h(12))]


def test_a_boot_ends_sessions_whose_logoff_never_came() -> None:
    events = [Ev(h(7), "boot"), logon(8, "alice", "0x1"), Ev(h(15), "boot")]
    lanes = build_lanes(events, h(0), h(24), now=h(16))
    assert spans(lanes.sessions["alice"]) == [(h(8), h(15))]
    assert lanes.sessions["alice"][0].note == "no logoff recorded"


def test_a_session_logged_on_before_the_range_is_cut_at_its_start() -> None:
    events = [logon(-2, "alice", "0x1"), logoff(3, "alice", "0x1")]
    lanes = build_lanes(events, h(0), h(24), now=h(30))
    assert spans(lanes.sessions["alice"]) == [(h(0), h(3))]
    assert lanes.sessions["alice"][0].open_start


def test_other_kinds_are_ignored() -> None:
    events = [Ev(h(8), "agent_started"), Ev(h(9), "diagnostic", {"code": "x"})]
    lanes = build_lanes(events, h(0), h(24), now=h(30))
    assert lanes.power == [] and lanes.sleep == [] and lanes.sessions == {}


def test_session_user_labels() -> None:
    assert session_user({"user": "alice", "domain": "CONTOSO"}) == "CONTOSO\\alice"
    assert session_user({"user": "alice", "domain": "-"}) == "alice"
    assert session_user({"user_sid": "S-1-5-21-1-2-3-1001"}) == "S-1-5-21-1-2-3-1001"
    assert session_user(None) == "unknown user"
