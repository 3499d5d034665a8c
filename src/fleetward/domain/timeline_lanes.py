"""Swimlanes of a machine's timeline: when it was on, who was logged on, when it slept.

Timeline events are moments; a person reads a machine's day as intervals. This
pairs the moments into intervals over a chosen range, with the rules below, and
clips every interval to the range and to now: a machine still on, or a user
still logged on, is drawn up to now and never into the future.

- Power is on from a boot or a resume until a shutdown, a sleep or an
  unexpected shutdown. A boot while already on means the end went unrecorded:
  the earlier interval ends at the boot. Windows writes Kernel-Power 41
  (unexpected_shutdown) while starting up again after a crash, so one that
  follows the boot of the current interval closely reports the run before it
  ended badly; it does not end the run that has just begun.
- A session runs from a logon to its logoff, paired by logon id (Security
  4624/4634), session id (journald, Winlogon) or, with neither, the user. A
  UAC administrator's elevated twin logon (linked_logon_id) folds into the
  session it is linked to. Sessions do not survive a boot or a shutdown.
- Sleep runs from a sleep to the next resume (or a boot, when it never woke).

An end with no start seen (the first event of a lane is a shutdown, a logoff
or a resume) means the interval began before the events at hand: it is drawn
from the start of the range and marked as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

# Kernel-Power 41 is written within a minute or two of the boot after a crash;
# ten minutes leaves room for a slow start-up without mistaking a real one.
BOOT_REPORT_WINDOW = timedelta(minutes=10)

POWER_ON = frozenset({"boot", "resume"})
POWER_OFF = frozenset({"shutdown", "sleep", "unexpected_shutdown"})
LANE_KINDS = frozenset(
    {"boot", "shutdown", "unexpected_shutdown", "sleep", "resume", "logon", "logoff"}
)


class Moment(Protocol):
    """What a lane needs of a timeline event (StoredEvent has these)."""

    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime
    end: datetime
    label: str = ""  # the user, on the sessions lane
    open_start: bool = False  # began before the range, or before any event at hand
    open_end: bool = False  # still going: cut at the end of the range or at now
    note: str = ""  # how it ended when that was not the usual way

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Lanes:
    start: datetime
    end: datetime  # the range's end or now, whichever is earlier
    power: list[Interval] = field(default_factory=list)
    sleep: list[Interval] = field(default_factory=list)
    sessions: dict[str, list[Interval]] = field(default_factory=dict)  # by user, first first


@dataclass(slots=True)
class _Raw:
    """An interval before clipping; a start of None is "before anything seen"."""

    start: datetime | None
    end: datetime | None  # None: still going
    label: str = ""
    note: str = ""


def _clip(raw: _Raw, lo: datetime, hi: datetime) -> Interval | None:
    start = lo if raw.start is None else raw.start
    end = hi if raw.end is None else raw.end
    if end <= lo or start >= hi or end <= start:
        return None
    return Interval(
        start=max(start, lo),
        end=min(end, hi),
        label=raw.label,
        open_start=raw.start is None or raw.start < lo,
        open_end=raw.end is None or raw.end > hi,
        note=raw.note,
    )


def _text(payload: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = payload.get(key)
        if value is not None and str(value).strip() not in ("", "-"):
            return str(value).strip()
    return None


def session_user(payload: Mapping[str, Any] | None) -> str:
    """Who a logon or logoff is of, as the sessions lane labels its row."""
    p = payload or {}
    user = _text(p, "user")
    if user is None:
        return _text(p, "user_sid") or "unknown user"
    domain = _text(p, "domain")
    return f"{domain}\\{user}" if domain else user


class _Power:
    def __init__(self) -> None:
        self.raw: list[_Raw] = []
        self.on_since: datetime | None = None
        self.on_by_boot = False
        self.seen = False

    def on(self, at: datetime, kind: str) -> None:
        if self.on_since is not None:
            if kind == "resume":
                return  # a resume while on: the sleep went unrecorded, it is on either way
            self.raw.append(_Raw(self.on_since, at, note="no shutdown recorded"))
        self.on_since, self.on_by_boot, self.seen = at, kind == "boot", True

    def off(self, at: datetime, kind: str) -> None:
        if (
            kind == "unexpected_shutdown"
            and self.on_since is not None
            and self.on_by_boot
            and at - self.on_since <= BOOT_REPORT_WINDOW
        ):
            # The report of the run before this boot, written while starting up.
            last = self.raw[-1] if self.raw else None
            if last is not None and last.end == self.on_since:
                last.note = "ended unexpectedly"
            return
        note = "ended unexpectedly" if kind == "unexpected_shutdown" else ""
        if self.on_since is not None:
            self.raw.append(_Raw(self.on_since, at, note=note))
        elif not self.seen:
            self.raw.append(_Raw(None, at, note=note))  # on since before anything seen
        self.on_since, self.seen = None, True

    def finish(self) -> None:
        if self.on_since is not None:
            self.raw.append(_Raw(self.on_since, None))


class _Sleep:
    def __init__(self) -> None:
        self.raw: list[_Raw] = []
        self.since: datetime | None = None
        self.seen = False

    def event(self, at: datetime, kind: str) -> None:
        if kind == "sleep":
            if self.since is None:
                self.since = at
        elif kind == "resume":
            if self.since is not None:
                self.raw.append(_Raw(self.since, at))
            elif not self.seen:
                self.raw.append(_Raw(None, at))  # asleep since before anything seen
            self.since = None
        elif kind in ("boot", "shutdown", "unexpected_shutdown") and self.since is not None:
            # Never woke up: powered off or lost power while asleep.
            self.raw.append(_Raw(self.since, at, note="no resume recorded"))
            self.since = None
        self.seen = True


@dataclass(slots=True)
class _Open:
    start: datetime
    user: str


class _Sessions:
    def __init__(self) -> None:
        self.raw: list[_Raw] = []
        self.open: dict[str, _Open] = {}
        self.aliases: dict[str, str] = {}  # an elevated twin's logon id -> its session's key
        self.seen: set[str] = set()  # keys logged on since the last boot (or ever)
        self.boot: datetime | None = None

    def _key(self, payload: Mapping[str, Any]) -> str | None:
        found = _text(payload, "logon_id", "session_id", "session")
        return None if found is None else self.aliases.get(found, found)

    def logon(self, at: datetime, payload: Mapping[str, Any]) -> None:
        user = session_user(payload)
        own = _text(payload, "logon_id", "session_id", "session")
        linked = _text(payload, "linked_logon_id")
        if own is not None and linked is not None and self.aliases.get(linked, linked) in self.open:
            self.aliases[own] = self.aliases.get(linked, linked)
            return
        key = own or f"user:{user}"
        self.seen.add(key)
        if key not in self.open:  # a repeated logon of an open session changes nothing
            self.open[key] = _Open(at, user)

    def logoff(self, at: datetime, payload: Mapping[str, Any]) -> None:
        user = session_user(payload)
        key = self._key(payload)
        if key is None:
            # No id: the user's latest open session, if any.
            mine = [k for k, o in self.open.items() if o.user == user]
            key = max(mine, key=lambda k: self.open[k].start) if mine else f"user:{user}"
        found = self.open.pop(key, None)
        if found is not None:
            self.raw.append(_Raw(found.start, at, found.user))
        elif key not in self.seen:
            # Logged on before anything seen, or since a boot whose logon went unrecorded.
            note = "" if self.boot is None else "logon not recorded"
            self.raw.append(_Raw(self.boot, at, user, note))
            self.seen.add(key)
        # else: the second logoff of a session already closed (the elevated twin's)

    def end_all(self, at: datetime, note: str) -> None:
        for found in self.open.values():
            self.raw.append(_Raw(found.start, at, found.user, note))
        self.open.clear()
        self.aliases.clear()

    def power(self, at: datetime, kind: str) -> None:
        if kind == "boot":
            self.end_all(at, "no logoff recorded")
            self.seen.clear()
            self.boot = at
        elif kind in ("shutdown", "unexpected_shutdown"):
            self.end_all(at, "ended by shutdown")

    def finish(self) -> None:
        for found in self.open.values():
            self.raw.append(_Raw(found.start, None, found.user))


def build_lanes(events: Iterable[Moment], since: datetime, until: datetime, now: datetime) -> Lanes:
    """The lanes over [since, until), cut at now.

    `events` may hold events from before `since` (they set the state the range
    starts in) and in any order; events after the range's end or after now are
    not used. Equal times keep the order given, so pass them oldest first.
    """
    end = max(since, min(until, now))
    ordered = sorted((e for e in events if e.kind in LANE_KINDS and e.at < end), key=lambda e: e.at)
    power, sleep, sessions = _Power(), _Sleep(), _Sessions()
    for event in ordered:
        kind = str(event.kind)
        payload = event.payload or {}
        if kind in POWER_ON:
            power.on(event.at, kind)
        elif kind in POWER_OFF:
            power.off(event.at, kind)
        if kind in POWER_ON or kind in POWER_OFF:
            sleep.event(event.at, kind)
            sessions.power(event.at, kind)
        elif kind == "logon":
            sessions.logon(event.at, payload)
        elif kind == "logoff":
            sessions.logoff(event.at, payload)
    power.finish()
    sessions.finish()
    if sleep.since is not None:
        sleep.raw.append(_Raw(sleep.since, None))

    def clipped(raws: list[_Raw]) -> list[Interval]:
        kept = (_clip(r, since, end) for r in raws)
        return sorted((i for i in kept if i is not None), key=lambda i: i.start)

    by_user: dict[str, list[Interval]] = {}
    for interval in clipped(sessions.raw):
        by_user.setdefault(interval.label, []).append(interval)
    return Lanes(since, end, clipped(power.raw), clipped(sleep.raw), by_user)


def short_labels(names: list[str], width: int) -> list[str]:
    """Each name in at most `width` characters, and no two alike where the names differ.

    A long name loses its middle, not its end: user names and SIDs of one machine
    share their beginning (the domain, S-1-5-21-<machine>) and differ at the end,
    so cutting the end gives every lane the same label. Where two cut names still
    read the same, more of the end is kept, and as a last resort a number tells them apart.
    """
    width = max(width, 3)
    shown = [_middle_cut(name, width, head=(width - 1) // 3) for name in names]
    for head in range((width - 1) // 3 - 1, -1, -1):
        clashing = _clashes(names, shown)
        if not clashing:
            return shown
        for i in clashing:
            shown[i] = _middle_cut(names[i], width, head)
    counts: dict[str, int] = {}
    for i in sorted(_clashes(names, shown)):
        counts[shown[i]] = counts.get(shown[i], 0) + 1
        mark = f"#{counts[shown[i]]}"
        shown[i] = _middle_cut(names[i], width - len(mark), 0) + mark
    return shown


def _middle_cut(name: str, width: int, head: int) -> str:
    if len(name) <= width:
        return name
    tail = width - head - 1
    return name[:head] + "…" + (name[-tail:] if tail > 0 else "")


def _clashes(names: list[str], shown: list[str]) -> set[int]:
    """Places whose shown label another, different name also shows."""
    by_label: dict[str, set[str]] = {}
    for name, label in zip(names, shown, strict=True):
        by_label.setdefault(label, set()).add(name)
    return {i for i, label in enumerate(shown) if len(by_label[label]) > 1}
