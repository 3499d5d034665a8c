"""Flap protection: reopening a ticket a reset closed, and noticing a flapping key.

A condition that triggers, resets and triggers again (a disk hovering at its
threshold, a link that drops every few minutes) should not become a ticket
per round. Two rules, on plain values, per tenant settings:

- Reopen: a trigger whose dedup key has no open ticket, and whose most
  recently closed ticket was closed automatically (by a reset) less than
  `reopen_window_minutes` ago, reopens that ticket. A ticket a person closed
  has the last word: it is never reopened.
- Flapping: a key that triggers more than `flap_threshold` times within
  `flap_window_minutes` is flapping from that trigger on; while it is, its
  resets leave the ticket open. It stops once it has been quiet (no trigger)
  for `flap_window_minutes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from fleetward.domain.errors import InvalidInput

WEEK_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class FlapSettings:
    """A tenant's settings (tenant.settings); absent keys take these defaults."""

    reopen_window_minutes: int = 60  # 0: never reopen, always a new ticket
    flap_threshold: int = 5  # more than this many triggers within the window: flapping
    flap_window_minutes: int = 60

    @property
    def reopen_window(self) -> timedelta:
        return timedelta(minutes=self.reopen_window_minutes)

    @property
    def flap_window(self) -> timedelta:
        return timedelta(minutes=self.flap_window_minutes)


# Inclusive bounds per setting. The threshold bounds what a key keeps (threshold + 1
# times), so a sender's storm costs the same small row whatever the tenant chose.
SETTING_BOUNDS: dict[str, tuple[int, int]] = {
    "reopen_window_minutes": (0, WEEK_MINUTES),
    "flap_threshold": (1, 1000),
    "flap_window_minutes": (1, WEEK_MINUTES),
}
SETTING_NAMES = tuple(f.name for f in fields(FlapSettings))


def checked_setting(name: str, value: Any) -> int:
    """One setting as sent: a whole number within its bounds, or a 422 naming it."""
    low, high = SETTING_BOUNDS[name]
    # bool is an int to Python; true is no number of minutes.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be a whole number", field=name)
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be from {low} to {high}", field=name)
    return value


def settings_from(stored: Mapping[str, Any] | None) -> FlapSettings:
    """The settings as stored: unknown keys are ignored, a bad value (written by hand)
    falls back to its default rather than stop the pipeline."""
    values: dict[str, int] = {}
    for name in SETTING_NAMES:
        if stored is None or name not in stored:
            continue
        try:
            values[name] = checked_setting(name, stored[name])
        except InvalidInput:
            continue
    return FlapSettings(**values)


def settings_doc(settings: FlapSettings) -> dict[str, int]:
    return {name: getattr(settings, name) for name in SETTING_NAMES}


@dataclass(frozen=True, slots=True)
class FlapState:
    """What one dedup key keeps (table flap_state)."""

    recent: tuple[datetime, ...]  # the latest trigger times, oldest first
    flapping_since: datetime | None
    last_trigger_at: datetime


def quiet(state: FlapState, now: datetime, settings: FlapSettings) -> bool:
    """No trigger for a whole flap window."""
    return now - state.last_trigger_at >= settings.flap_window


def is_flapping(state: FlapState | None, now: datetime, settings: FlapSettings) -> bool:
    """Flapping now: marked, and not quiet since (which ends it, noticed or not)."""
    return (
        state is not None and state.flapping_since is not None and not quiet(state, now, settings)
    )


@dataclass(frozen=True, slots=True)
class TriggerCount:
    state: FlapState
    started_flapping: bool  # this trigger made the key flapping (tell people, once)


def count_trigger(state: FlapState | None, now: datetime, settings: FlapSettings) -> TriggerCount:
    """The key's state after one more trigger at `now`."""
    flapping_since = None
    recent: tuple[datetime, ...] = ()
    if state is not None:
        flapping_since = state.flapping_since if is_flapping(state, now, settings) else None
        start = now - settings.flap_window
        recent = tuple(t for t in state.recent if t > start)
    keep = settings.flap_threshold + 1
    recent = (*recent, now)[-keep:]
    started = flapping_since is None and len(recent) > settings.flap_threshold
    if started:
        flapping_since = now
    return TriggerCount(FlapState(recent, flapping_since, now), started)


def may_reopen(
    auto_closed: bool, closed_at: datetime | None, now: datetime, settings: FlapSettings
) -> bool:
    """Whether the key's most recently closed ticket may come back for a new trigger."""
    if not auto_closed or closed_at is None or settings.reopen_window_minutes == 0:
        return False
    return now - closed_at < settings.reopen_window


def reopen_comment(occurrence: int) -> str:
    return f"Re-opened: occurrence {occurrence}"


def flapping_comment(settings: FlapSettings) -> str:
    return (
        f"Flapping: more than {settings.flap_threshold} triggers within "
        f"{settings.flap_window_minutes} minutes. Resets no longer close this ticket "
        f"until the alert has been quiet for {settings.flap_window_minutes} minutes."
    )


def held_open_comment(settings: FlapSettings) -> str:
    return (
        "Left open: the alert is flapping. A reset closes this ticket automatically again "
        f"once no trigger has come for {settings.flap_window_minutes} minutes."
    )
