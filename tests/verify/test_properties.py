"""Properties held for any input hypothesis can make, each with its ledger line.

- the normalisers: any JSON a sender posts, through the webhook's boundary
  (services/sent_json.py, then the provider's normalize), gives events or the
  providers' own PayloadError, never another exception (which would be a 500);
- the rule condition evaluator: any rules and alert evaluate without raising, and
  pick the rule a plain reference reading of the conditions picks;
- maintenance windows across daylight saving: an instant is inside a weekly
  window exactly when its local wall-clock time is inside one of the window's
  local spans, near the skipped and the repeated hours too.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetward.adapters.providers import ProviderSettings, normalizer_for
from fleetward.domain.alerts import Device, EventKind, Ignored, NormalizedEvent, Provider, Severity
from fleetward.domain.errors import PayloadError
from fleetward.domain.maintenance import MaintenanceWindow, WeeklyRecurrence
from fleetward.domain.rules import AlertRule, RuleBook, RuleConditions, evaluate
from fleetward.domain.text import SURROGATE
from fleetward.services.sent_json import loads_sent
from tests.verify.ledger import Ledger, size

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"
WEBHOOK_PROVIDERS = [p for p in Provider if p is not Provider.AGENT]


def _examples(small: int, full: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=size(small, full),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# The normalisers

# Any text a sender can escape in JSON: lone surrogates and control characters too.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
# Words the normalisers look for, so generated bodies also get past the first checks.
WORDS = st.sampled_from(
    [
        "triggered",
        "reset",
        "resolved",
        "firing",
        "CRITICAL",
        "major",
        "2024-05-01T11:30:12+02:00",
        "1714555812",
        "",
        " ",
        "0",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT
    | WORDS
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT | WORDS, inner, max_size=4)
    ),
    max_leaves=12,
)
SAMPLES: dict[Provider, list[Any]] = {
    provider: [
        json.loads(p.read_text()) for p in sorted((FIXTURES / provider.value).glob("*.json"))
    ]
    for provider in WEBHOOK_PROVIDERS
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def sent_bodies(draw: st.DrawFn, provider: Provider) -> Any:
    """A recorded sample with some parts replaced or removed, or any JSON at all."""
    if not SAMPLES[provider] or draw(st.integers(0, 4)) == 0:
        return draw(JSON)
    body = copy.deepcopy(draw(st.sampled_from(SAMPLES[provider])))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(body)))
        if not path:
            return draw(JSON)
        *parents, last = path
        holder = body
        for step in parents:
            holder = holder[step]
        if isinstance(holder, dict) and draw(st.booleans()):
            del holder[last]
        else:
            holder[last] = draw(JSON)
    return body


@_examples(300, 5_000)
@given(data=st.data(), provider=st.sampled_from(WEBHOOK_PROVIDERS), label=ANY_TEXT | WORDS)
def test_any_json_through_the_webhook_boundary_gives_events_or_a_payload_error(
    ledger: Ledger, data: st.DataObject, provider: Provider, label: str
) -> None:
    body = data.draw(sent_bodies(provider), label="body")
    raw = json.dumps(body).encode()  # ASCII-escaped, as many senders write
    line = ledger.line("normalisers (any JSON never raises past the boundary)")
    try:
        provider_settings = ProviderSettings(client_label=label)
    except Exception:  # refused when the integration is saved: not this check's subject
        provider_settings = ProviderSettings()
    outcome: Any
    try:
        decoded = loads_sent(raw)
        outcome = normalizer_for(provider).normalize(decoded, provider_settings)
    except PayloadError as error:
        outcome = error
    except Exception as error:  # what would answer 500
        line.add(load=1, bad_inputs=1, server_errors=1)
        raise AssertionError(f"{provider}: {type(error).__name__}: {error}") from error
    refused = isinstance(outcome, PayloadError)
    line.add(load=1, bad_inputs=int(refused))
    if refused:
        assert outcome.field and outcome.message
        return
    assert isinstance(outcome, list)
    for item in outcome:
        assert isinstance(item, NormalizedEvent | Ignored)
        if isinstance(item, NormalizedEvent):
            # What is kept can be written: no lone surrogate got past the boundary.
            orjson.dumps([item.title, item.message, item.device.name, item.raw])


# The rule condition evaluator

SEVERITIES = list(Severity)
VALUES = st.sampled_from(["Disk", "disk", "CPU", "patch", "Straße", "İstanbul", ""])
CLIENTS = [uuid.UUID(int=n) for n in range(1, 4)]
# Patterns on which re2 and Python's re agree (no $, no classes Python reads otherwise).
PATTERNS = st.sampled_from(
    ["disk", "^Disk", "d.sk", "[0-9]+ errors", "(?i)DISK", "full|down", "", "a{2,}", "é"]
)
EVENT_TEXT = st.text(
    st.sampled_from(list("diskDISK full down 0123456789 errors éa\n\t"))
    | st.characters(codec=None, exclude_categories=()),
    max_size=30,
)


def _frozen(values: st.SearchStrategy[Any], most: int = 3) -> st.SearchStrategy[frozenset[Any]]:
    return st.frozensets(values, max_size=most)


CONDITIONS = st.builds(
    RuleConditions,
    severities=_frozen(st.sampled_from(SEVERITIES)),
    activity_types=_frozen(VALUES),
    alert_classes=_frozen(VALUES),
    source_types=_frozen(VALUES),
    client_ids=_frozen(st.sampled_from(CLIENTS)),
    keywords=st.lists(VALUES | ANY_TEXT, max_size=3).map(tuple),
    message_pattern=st.none() | PATTERNS,
)


def _event(
    severity: Severity, activity: str, klass: str, source: str, title: str, message: str
) -> NormalizedEvent:
    return NormalizedEvent(
        provider=Provider.GENERIC,
        kind=EventKind.TRIGGERED,
        external_alert_id="a-1",
        series_key="s-1",
        device=Device("d-1", "WS-01", None),
        severity=severity,
        condition_identity="c",
        title=title,
        message=message,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        activity_type=activity,
        alert_class=klass,
        source_type=source,
    )


EVENTS = st.builds(
    _event,
    st.sampled_from(SEVERITIES),
    VALUES | ANY_TEXT,
    VALUES | ANY_TEXT,
    VALUES | ANY_TEXT,
    EVENT_TEXT,
    EVENT_TEXT,
)


def reference_holds(c: RuleConditions, event: NormalizedEvent, client: uuid.UUID | None) -> bool:
    """The conditions as the documentation says them: every one given must hold."""

    def one_of(wanted: frozenset[str], value: str) -> bool:
        return not wanted or value.lower() in {w.lower() for w in wanted}

    text = f"{event.title}\n{event.message}".lower()
    return (
        (not c.severities or event.severity in c.severities)
        and one_of(c.activity_types, event.activity_type)
        and one_of(c.alert_classes, event.alert_class)
        and one_of(c.source_types, event.source_type)
        and (not c.client_ids or client in c.client_ids)
        and (not c.keywords or any(k.lower() in text for k in c.keywords))
        and (
            c.message_pattern is None
            or re.search(c.message_pattern, _encodable(event.message)) is not None
        )
    )


def _encodable(text: str) -> str:
    # re2 reads UTF-8: a lone surrogate is read as the replacement character.
    return SURROGATE.sub("\ufffd", text)


@_examples(300, 5_000)
@given(
    conditions=st.lists(st.tuples(CONDITIONS, st.booleans()), max_size=5),
    event=EVENTS,
    client=st.none() | st.sampled_from(CLIENTS),
)
def test_any_rules_and_alert_evaluate_and_agree_with_a_reference(
    ledger: Ledger,
    conditions: list[tuple[RuleConditions, bool]],
    event: NormalizedEvent,
    client: uuid.UUID | None,
) -> None:
    tenant = uuid.UUID(int=0)
    rules = [
        AlertRule(uuid.UUID(int=100 + i), tenant, f"rule {i}", active, 10 - i, c)
        for i, (c, active) in enumerate(conditions)
    ]
    line = ledger.line("rule condition evaluator")
    try:
        outcome = evaluate(RuleBook(rules), event, client)
    except Exception:
        line.add(load=1, server_errors=1)
        raise
    line.add(load=1)
    in_order = sorted((r for r in rules if r.active), key=lambda r: r.position)
    expected = next((r for r in in_order if reference_holds(r.conditions, event, client)), None)
    assert outcome.rule == expected
    assert [tried for tried, _, error in outcome.tried if error is not None] == []


# Maintenance windows across daylight saving

DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago"]


def _transitions(name: str, years: range) -> list[datetime]:
    """The UTC instants at which the zone's offset changes, to the minute."""
    tz = ZoneInfo(name)
    found = []
    start = datetime(years.start, 1, 1, tzinfo=UTC)
    days = (datetime(years.stop, 1, 1, tzinfo=UTC) - start).days
    for day in range(days):
        low, high = start + timedelta(days=day), start + timedelta(days=day + 1)
        if low.astimezone(tz).utcoffset() == high.astimezone(tz).utcoffset():
            continue
        while high - low > timedelta(minutes=1):
            middle = low + (high - low) / 2
            middle = middle.replace(second=0, microsecond=0)
            if middle <= low:
                break
            if middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                low = middle
            else:
                high = middle
        found.append(high)
    return found


TRANSITIONS = {name: _transitions(name, range(2024, 2028)) for name in DST_ZONES}
CLOCKS = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 29, 30, 45, 59]))


def local_spans(recurrence: WeeklyRecurrence, around: date) -> list[tuple[datetime, datetime]]:
    """The window's occurrences near a date as naive wall-clock spans [start, end)."""
    spans = []
    for offset in range(-9, 10):
        day = around + timedelta(days=offset)
        if (day.weekday() + 1) % 7 not in recurrence.days:
            continue
        begin = datetime.combine(day, recurrence.start)
        end = datetime.combine(day, recurrence.end)
        if recurrence.end <= recurrence.start:
            end += timedelta(days=1)  # past midnight, into the next day
        spans.append((begin, end))
    return spans


@_examples(300, 10_000)
@given(
    tz=st.sampled_from(DST_ZONES),
    data=st.data(),
    days=st.frozensets(st.integers(0, 6), min_size=1),
    start=CLOCKS,
    end=CLOCKS,
    offset=st.integers(-36 * 60, 36 * 60),
    seconds=st.integers(0, 59),
)
def test_a_weekly_window_covers_an_instant_iff_its_wall_clock_is_in_a_local_span(
    ledger: Ledger,
    tz: str,
    data: st.DataObject,
    days: frozenset[int],
    start: time,
    end: time,
    offset: int,
    seconds: int,
) -> None:
    if start == end:
        end = time((end.hour + 1) % 24, end.minute)
    change = data.draw(st.sampled_from(TRANSITIONS[tz]), label="transition")
    at = change + timedelta(minutes=offset, seconds=seconds)
    recurrence = WeeklyRecurrence(days, start, end, tz)
    window = MaintenanceWindow(
        uuid.uuid4(), uuid.uuid4(), "w", None, None, None, None, None, recurrence
    )
    line = ledger.line("maintenance-window arithmetic across DST")
    try:
        covered = window.active_at(at)
    except Exception:
        line.add(load=1, server_errors=1)
        raise
    line.add(load=1)
    wall = at.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    expected = any(begin <= wall < stop for begin, stop in local_spans(recurrence, wall.date()))
    assert covered is expected, (tz, at.isoformat(), wall.isoformat())
