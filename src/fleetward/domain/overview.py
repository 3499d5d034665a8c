"""The overview a shift starts from: what is open, what is stuck, what is broken.

The figures are counted by the database (adapters/storage/overview_queries.py);
this module holds the rules that say what each figure means, so the overview and
the lists its numbers link to agree on them:

- Open alerts are active or acknowledged. An unacknowledged critical is an
  active critical alert: acknowledging one, by a person or by its provider,
  makes it `acknowledged` (only a person's acknowledgement stamps
  acknowledged_at, so that column alone would count the provider's as
  unacknowledged).
- A ticket's age is the time since it was opened (created_at), in the buckets
  of AGE_BUCKETS; open tickets only.
- An agent is offline when it is not revoked and was not seen within
  domain.agents.ONLINE_WITHIN (the agents pages' rule).
- An integration is failing when its latest finished sync run failed, or when a
  call to its provider (reset or acknowledge) gave up within OUTBOUND_WINDOW or
  is being retried after an error. It is silent when it is enabled, older than
  SILENT_AFTER, and nothing arrived from it for SILENT_AFTER: no new alert (by
  webhook or sync), no reset or acknowledgement taken, and no unreadable body
  kept as a dead letter (what the integrations list calls its last webhook). Fleetward's
  own agent integration is never silent: it hears only when a watch rule
  matches.
- Response times are medians, over the alerts (tickets) created in the last 7
  and 30 days: to acknowledge, created_at to a person's acknowledged_at; to
  resolve, created_at to resolved_at (tickets: to closed_at), over those that
  were so far. An alert recorded already resolved (a reset of a series never
  seen triggered) is no resolution anyone waited for and is left out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fleetward.domain.errors import InvalidInput

SILENT_AFTER = timedelta(days=7)
OUTBOUND_WINDOW = timedelta(hours=24)
RESPONSE_WINDOWS = (7, 30)  # days
CHART_DAYS = 30


@dataclass(frozen=True, slots=True)
class AgeBucket:
    key: str  # the tickets list's ?age= value
    label: str
    at_least: timedelta
    under: timedelta | None  # None: no upper bound

    def opened_between(self, now: datetime) -> tuple[datetime | None, datetime]:
        """(after, at or before): the creation times of tickets this old at `now`."""
        after = now - self.under if self.under is not None else None
        return after, now - self.at_least


AGE_BUCKETS = (
    AgeBucket("lt1h", "< 1 h", timedelta(0), timedelta(hours=1)),
    AgeBucket("1h-24h", "1 to 24 h", timedelta(hours=1), timedelta(hours=24)),
    AgeBucket("1d-7d", "1 to 7 d", timedelta(hours=24), timedelta(days=7)),
    AgeBucket("gt7d", "> 7 d", timedelta(days=7), None),
)


def age_bucket(key: str) -> AgeBucket:
    """The bucket a list's ?age= names, or InvalidInput naming the field."""
    for bucket in AGE_BUCKETS:
        if bucket.key == key:
            return bucket
    choices = ", ".join(b.key for b in AGE_BUCKETS)
    raise InvalidInput(f"age must be one of {choices}", field="age")


@dataclass(frozen=True, slots=True)
class AlertGroup:
    """Open alerts of one status, severity and client (None: no client)."""

    status: str
    severity: str
    client_id: uuid.UUID | None
    count: int


@dataclass(frozen=True, slots=True)
class IntegrationHealth:
    id: uuid.UUID
    name: str
    provider: str
    enabled: bool
    created_at: datetime
    last_sync_failed: bool
    outbound_failures: int  # provider calls given up or retrying after an error
    received_recently: bool  # anything arrived within SILENT_AFTER

    @property
    def failing(self) -> bool:
        return self.last_sync_failed or self.outbound_failures > 0

    def silent(self, now: datetime) -> bool:
        return (
            self.enabled
            and self.provider != "agent"
            and not self.received_recently
            and now - self.created_at >= SILENT_AFTER
        )


@dataclass(frozen=True, slots=True)
class Median:
    """The median duration of `count` measured items (None when there are none)."""

    seconds: float | None
    count: int


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    days: int
    alert_acknowledge: Median
    alert_resolve: Median
    ticket_resolve: Median


@dataclass(frozen=True, slots=True)
class OverviewFigures:
    """Everything the overview shows, counted in one read snapshot."""

    now: datetime
    open_alerts: list[AlertGroup]
    open_tickets_by_age: dict[str, int]  # AgeBucket.key -> count
    my_open_tickets: int
    agents_offline: int
    agents_active: int  # not revoked
    integrations: list[IntegrationHealth]
    alerts_per_day: list[tuple[date, int]]  # oldest first, CHART_DAYS of them
    tickets_per_day: list[tuple[date, int]]
    response_times: list[ResponseTimes] = field(default_factory=list)  # per RESPONSE_WINDOWS
    severity_totals: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        totals: dict[str, int] = {}
        for group in self.open_alerts:
            totals[group.severity] = totals.get(group.severity, 0) + group.count
        object.__setattr__(self, "severity_totals", totals)

    @property
    def open_alert_total(self) -> int:
        return sum(g.count for g in self.open_alerts)

    @property
    def unacknowledged_criticals(self) -> int:
        return sum(
            g.count for g in self.open_alerts if g.status == "active" and g.severity == "critical"
        )

    def by_client(self) -> dict[uuid.UUID | None, int]:
        counts: dict[uuid.UUID | None, int] = {}
        for group in self.open_alerts:
            counts[group.client_id] = counts.get(group.client_id, 0) + group.count
        return counts

    @property
    def open_ticket_total(self) -> int:
        return sum(self.open_tickets_by_age.values())

    @property
    def failing_integrations(self) -> list[IntegrationHealth]:
        return [i for i in self.integrations if i.failing]

    @property
    def silent_integrations(self) -> list[IntegrationHealth]:
        return [i for i in self.integrations if i.silent(self.now)]


def day_starts(now: datetime, zone: tzinfo, days: int = CHART_DAYS) -> list[datetime]:
    """The UTC instants at which the reader's last `days` days begin, and the next
    day's start after them: days + 1 bounds, so day i is [bounds[i], bounds[i + 1])."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    return [
        datetime.combine(first + timedelta(days=i), time(0), zone).astimezone(UTC)
        for i in range(days + 1)
    ]
