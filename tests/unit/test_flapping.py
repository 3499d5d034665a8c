"""The flap rules on plain values (domain/flapping.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleetward.domain.errors import InvalidInput
from fleetward.domain.flapping import (
    FlapSettings,
    FlapState,
    checked_setting,
    count_trigger,
    is_flapping,
    may_reopen,
    settings_from,
)

T0 = datetime(2026, 12, 7, 9, tzinfo=UTC)
SETTINGS = FlapSettings(reopen_window_minutes=60, flap_threshold=3, flap_window_minutes=10)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def run(times: list[float]) -> tuple[FlapState | None, list[bool]]:
    state: FlapState | None = None
    started = []
    for t in times:
        counted = count_trigger(state, minutes(t), SETTINGS)
        state = counted.state
        started.append(counted.started_flapping)
    return state, started


def test_more_than_the_threshold_within_the_window_starts_flapping_once() -> None:
    state, started = run([0, 1, 2, 3, 4, 5])
    assert started == [False, False, False, True, False, False]
    assert state is not None and state.flapping_since == minutes(3)
    assert len(state.recent) == SETTINGS.flap_threshold + 1  # bounded, whatever comes


def test_triggers_spread_wider_than_the_window_never_flap() -> None:
    state, started = run([0, 4, 8, 12, 16, 20, 24])
    assert not any(started)
    assert state is not None and state.flapping_since is None


def test_flapping_ends_after_a_quiet_window_and_counting_starts_again() -> None:
    state, _ = run([0, 1, 2, 3])
    assert is_flapping(state, minutes(12.9), SETTINGS)
    assert not is_flapping(state, minutes(13), SETTINGS)
    assert state is not None
    again = count_trigger(state, minutes(13), SETTINGS)
    assert again.state.flapping_since is None and again.state.recent == (minutes(13),)


def test_only_a_reset_close_within_the_window_reopens() -> None:
    closed = minutes(0)
    assert may_reopen(True, closed, minutes(59), SETTINGS)
    assert not may_reopen(True, closed, minutes(60), SETTINGS)
    assert not may_reopen(False, closed, minutes(1), SETTINGS)  # a person closed it
    assert not may_reopen(True, closed, minutes(1), FlapSettings(reopen_window_minutes=0))


def test_stored_settings_fall_back_to_defaults_for_bad_values() -> None:
    stored = {"flap_threshold": "7", "flap_window_minutes": 0, "reopen_window_minutes": 5, "x": 1}
    assert settings_from(stored) == FlapSettings(reopen_window_minutes=5)
    assert settings_from(None) == FlapSettings()
    with pytest.raises(InvalidInput):
        checked_setting("flap_threshold", 0)
