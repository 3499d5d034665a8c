"""Windows event-log records as plain values, and the watch rules that pick some out.

Every collector (EvtQuery on Windows, .evtx files anywhere) produces the same
`EventRecord`, so watch rules and timeline classification never know where a
record came from.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fleetward.domain.alerts import Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.listing import Sort

JOURNAL = "journal"  # on Linux, the log name that means the whole systemd journal
# A systemd unit's name ends in its type; a Windows channel's never does.
_UNIT = re.compile(
    r"[\w@:.\\-]+\.(service|socket|scope|timer|mount|automount|slice|target|path|device|swap)",
    re.IGNORECASE,
)


def is_journal_log(log_name: str) -> bool:
    """`journal` or a systemd unit: the names journald answers for, never a Windows channel."""
    return log_name.casefold() == JOURNAL or _UNIT.fullmatch(log_name) is not None


class Level(enum.IntEnum):
    """The Windows event level as recorded (System/Level)."""

    LOG_ALWAYS = 0  # "no level": Security audit events use it, Event Viewer shows Information
    CRITICAL = 1
    ERROR = 2
    WARNING = 3
    INFORMATION = 4
    VERBOSE = 5


class MinLevel(enum.StrEnum):
    """A watch rule's severity threshold: `warning` matches warning, error and critical."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"
    VERBOSE = "verbose"

    @property
    def rank(self) -> int:
        return _THRESHOLD_RANK[self]


_THRESHOLD_RANK = {
    MinLevel.CRITICAL: Level.CRITICAL,
    MinLevel.ERROR: Level.ERROR,
    MinLevel.WARNING: Level.WARNING,
    MinLevel.INFORMATION: Level.INFORMATION,
    MinLevel.VERBOSE: Level.VERBOSE,
}


def severity_rank(level: int) -> int:
    """Lower is more severe, on the 1 (critical) .. 5 (verbose) scale.

    Level 0 (LogAlways) ranks as information because that is what the audit
    events carrying it are, and how Event Viewer shows them. Levels above 5
    are provider-defined and always chattier than verbose, so they rank as
    verbose; negative levels cannot be recorded and rank the same.
    """
    if level == Level.LOG_ALWAYS:
        return Level.INFORMATION
    if Level.CRITICAL <= level <= Level.VERBOSE:
        return level
    return Level.VERBOSE


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One Windows event, whichever collector read it."""

    log_name: str  # the channel: System, Security, Microsoft-Windows-Sysmon/Operational ...
    provider: str
    event_id: int
    level: int  # 0 LogAlways, 1 critical .. 5 verbose (see Level)
    record_id: str  # EventRecordID, a string as everywhere it leaves the machine
    time_created: datetime  # aware, UTC
    computer: str = ""
    user_sid: str | None = None  # System/Security/UserID, when the event names one
    keywords: int = 0  # the 64-bit keyword mask (0x0020000000000000 audit success ...)
    data: dict[str, str] = field(default_factory=dict)  # EventData / UserData, flattened
    message: str = ""  # rendered text; .evtx files carry none, so it stays empty

    def __post_init__(self) -> None:
        if self.time_created.tzinfo is None:
            raise InvalidInput("time_created must carry a time zone", field="time_created")
        object.__setattr__(self, "time_created", self.time_created.astimezone(UTC))


@dataclass(frozen=True, slots=True)
class DamagedRecord:
    """A record a collector could not read: reported, while the rest of the log is kept.

    The parser rarely knows the damaged record's own id, so the neighbours
    are kept: between `previous_record_id` and `next_record_id` lies what was
    lost (a damaged record can take the rest of its 64 KiB chunk with it).
    """

    position: int  # 0-based place in the file's reading order, good records included
    reason: str
    record_id: str | None = None
    previous_record_id: str | None = None
    next_record_id: str | None = None


@dataclass(frozen=True, slots=True)
class WatchRule:
    """Which events of one log become alerts. Empty filters match anything."""

    id: uuid.UUID | str
    log_name: str
    name: str = ""
    event_ids: frozenset[int] = frozenset()
    providers: tuple[str, ...] = ()  # compared case-insensitively, as Windows does
    min_level: MinLevel = MinLevel.VERBOSE
    keywords: tuple[str, ...] = ()  # any one, case-insensitive, in the message or data values
    alert_severity: Severity = Severity.MODERATE
    enabled: bool = True
    _providers: frozenset[str] = field(init=False, repr=False, compare=False)
    _keywords: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.log_name.strip():
            raise InvalidInput("log_name must name an event log", field="log_name")
        bad_ids = sorted(i for i in self.event_ids if not 0 <= i <= 0xFFFF)
        if bad_ids:
            raise InvalidInput(f"event_ids must be 0 to 65535, not {bad_ids[0]}", field="event_ids")
        if any(not k.strip() for k in self.keywords):
            raise InvalidInput("keywords must not be blank", field="keywords")
        # Folded once here: a rule is checked against every record collected.
        object.__setattr__(self, "_providers", frozenset(p.casefold() for p in self.providers))
        object.__setattr__(self, "_keywords", tuple(k.casefold() for k in self.keywords))


class ScopeType(enum.StrEnum):
    """What a stored watch rule applies to: every agent of the tenant, or of one object."""

    TENANT = "tenant"
    CLIENT = "client"
    SITE = "site"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class WatchScope:
    type: ScopeType
    id: uuid.UUID | None = None  # the client, site or agent; none for the whole tenant

    def __post_init__(self) -> None:
        if self.type is ScopeType.TENANT and self.id is not None:
            raise InvalidInput("scope.id must be absent for a tenant-wide rule", field="scope.id")
        if self.type is not ScopeType.TENANT and self.id is None:
            raise InvalidInput(f"scope.id must name the {self.type.value}", field="scope.id")


@dataclass(frozen=True, slots=True)
class EventLogWatch:
    """A tenant's stored watch rule and the agents it applies to."""

    tenant_id: uuid.UUID
    scope: WatchScope
    rule: WatchRule
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(str(self.rule.id))


def matches(rule: WatchRule, record: EventRecord) -> bool:
    """Whether `record` is one `rule` watches for."""
    if not rule.enabled:
        return False
    if rule.log_name.casefold() != record.log_name.casefold():
        return False
    if rule.event_ids and record.event_id not in rule.event_ids:
        return False
    if rule._providers and record.provider.casefold() not in rule._providers:
        return False
    if severity_rank(record.level) > rule.min_level.rank:
        return False
    if rule._keywords:
        texts = [record.message.casefold(), *(v.casefold() for v in record.data.values())]
        return any(k in text for k in rule._keywords for text in texts)
    return True


def dedup_key(agent_id: uuid.UUID | str, rule_id: uuid.UUID | str, record: EventRecord) -> str:
    """One alert per agent, rule and record: re-sending a batch opens nothing new."""
    return f"evtlog:{agent_id}:{rule_id}:{record.record_id}"


# What watch-rule lists sort by (severity worst first when descending); by name
# unless the reader asks otherwise.
WATCH_SORTS = ("name", "log_name", "severity", "enabled", "created_at")
WATCH_DEFAULT_SORT = Sort("name")
