"""What the control channel carries (docs/agent-protocol.md), as plain values.

The config document an agent receives, the `eventlog.query` command's
arguments, and the event records an agent answers it with. The server builds
and checks them here; the agent, which may import only the domain, can use the
same functions, so both sides agree on the shapes by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import EventLogWatch, EventRecord, MinLevel, severity_rank

HEARTBEAT_SECONDS = 30

QUERY_LIMIT_DEFAULT = 100
QUERY_LIMIT_MAX = 500
_MAX_NAME = 256  # log names, providers, sources, computer names, SIDs
_MAX_RECORD_ID = 512  # a journald cursor is ~150 characters
_MAX_TEXT = 64 * 1024  # a message or one data value
_MAX_DATA_ITEMS = 512
_MAX_EVENT_ID = 0xFFFFFFFF
_MAX_KEYWORDS = 2**64 - 1


def rule_document(watch: EventLogWatch) -> dict[str, Any]:
    """A watch rule as the config carries it: the API's shape less `scope` (JSON values)."""
    rule = watch.rule
    return {
        "id": str(watch.id),
        "name": rule.name,
        "log_name": rule.log_name,
        "event_ids": sorted(rule.event_ids),
        "providers": list(rule.providers),
        "min_level": rule.min_level.value,
        "keywords": list(rule.keywords),
        "alert_severity": rule.alert_severity.value,
        "enabled": rule.enabled,
    }


def config_document(
    watches: Iterable[EventLogWatch], heartbeat_seconds: int = HEARTBEAT_SECONDS
) -> dict[str, Any]:
    """The whole config of one agent, from every rule that applies to it.

    Disabled rules are left out: the agent has nothing to do with them, and
    disabling one must reach the agent as a change like any other.
    """
    return {
        "heartbeat_seconds": heartbeat_seconds,
        "watches": [rule_document(w) for w in watches if w.rule.enabled],
    }


# The on-demand event-log query


def _text(value: str, field: str, limit: int = _MAX_NAME) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"{field} must not be blank", field=field)
    if len(cleaned) > limit:
        raise InvalidInput(f"{field} must be at most {limit} characters", field=field)
    if not cleaned.isprintable():
        raise InvalidInput(f"{field} must not contain control characters", field=field)
    return cleaned


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"{field} must carry a time zone (2025-03-01T08:00:00Z)", field=field)
    return value.astimezone(UTC)


def iso_utc(at: datetime) -> str:
    """ISO 8601 in UTC with `Z`, as every time on the channel is written."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class EventLogQuery:
    """What a person asks of one machine's event log (`GET /agents/{id}/eventlog`).

    `level` is a minimum as in watch rules (`warning`: warning, error and
    critical); `since` is inclusive, `until` exclusive. On Linux `log` names a
    journald unit (or `journal`) and `source` a SYSLOG_IDENTIFIER.
    """

    log: str
    level: MinLevel | None = None
    event_id: int | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = QUERY_LIMIT_DEFAULT

    def __post_init__(self) -> None:
        object.__setattr__(self, "log", _text(self.log, "log"))
        if self.source is not None:
            object.__setattr__(self, "source", _text(self.source, "source"))
        if self.event_id is not None and (
            isinstance(self.event_id, bool) or not 0 <= self.event_id <= 0xFFFF
        ):
            raise InvalidInput("event_id must be a whole number from 0 to 65535", field="event_id")
        if isinstance(self.limit, bool) or not 1 <= self.limit <= QUERY_LIMIT_MAX:
            raise InvalidInput(f"limit must be from 1 to {QUERY_LIMIT_MAX}", field="limit")
        for field in ("since", "until"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, _aware(value, field))
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise InvalidInput("until must be later than since", field="until")

    @classmethod
    def from_text(cls, values: Mapping[str, str | None]) -> EventLogQuery:
        """Parse what a query string or a form gave; every error names its field.

        Empty values count as absent, as an untouched filter field sends them.
        """
        given = {k: v.strip() for k, v in values.items() if v is not None and v.strip()}
        unknown = sorted(set(given) - _QUERY_FIELDS)
        if unknown:
            raise InvalidInput(f"{unknown[0]} is not a filter of the event log", field=unknown[0])
        if "log" not in given:
            raise InvalidInput("log is required: name the event log (System, ...)", field="log")
        level = None
        if "level" in given:
            try:
                level = MinLevel(given["level"].lower())
            except ValueError:
                names = ", ".join(m.value for m in MinLevel)
                raise InvalidInput(f"level must be one of {names}", field="level") from None
        return cls(
            log=given["log"],
            level=level,
            event_id=_whole(given, "event_id"),
            source=given.get("source"),
            since=_time(given, "since"),
            until=_time(given, "until"),
            limit=_whole(given, "limit", QUERY_LIMIT_DEFAULT),
        )

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> EventLogQuery:
        """The query an agent receives as the command's `args` (command_args' inverse)."""
        return cls.from_text({key: None if v is None else str(v) for key, v in args.items()})

    def accepts(self, record: EventRecord) -> bool:
        """Every filter but `log`, which each collector applies in its own terms."""
        if self.level is not None and severity_rank(record.level) > self.level.rank:
            return False
        if self.event_id is not None and record.event_id != self.event_id:
            return False
        if self.source and record.provider.casefold() != self.source.casefold():
            return False
        if self.since is not None and record.time_created < self.since:
            return False
        return self.until is None or record.time_created < self.until

    def command_args(self) -> dict[str, Any]:
        """The `eventlog.query` command's `args`; filters not set are left out."""
        args: dict[str, Any] = {"log": self.log, "limit": self.limit}
        if self.level is not None:
            args["level"] = self.level.value
        if self.event_id is not None:
            args["event_id"] = self.event_id
        if self.source is not None:
            args["source"] = self.source
        if self.since is not None:
            args["since"] = iso_utc(self.since)
        if self.until is not None:
            args["until"] = iso_utc(self.until)
        return args


_QUERY_FIELDS = frozenset(f.name for f in fields(EventLogQuery))


def _whole(given: Mapping[str, str], field: str, default: int | None = None) -> Any:
    if field not in given:
        return default
    raw = given[field]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise InvalidInput(f"{field} must be a whole number, not {raw[:20]!r}", field=field)
    return int(raw)


def _time(given: Mapping[str, str], field: str) -> datetime | None:
    if field not in given:
        return None
    raw = given[field]
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"{field} must be an ISO 8601 time with a zone (2025-03-01T08:00:00Z)", field=field
        ) from None


# Event records, as an agent answers a query


def record_document(record: EventRecord) -> dict[str, Any]:
    """An EventRecord as JSON values, the protocol page's record shape."""
    return {
        "log_name": record.log_name,
        "provider": record.provider,
        "event_id": record.event_id,
        "level": record.level,
        "record_id": record.record_id,
        "time_created": iso_utc(record.time_created),
        "computer": record.computer,
        "user_sid": record.user_sid,
        "keywords": record.keywords,
        "data": dict(record.data),
        "message": record.message,
    }


def _field_text(doc: Mapping[str, Any], name: str, limit: int, default: str | None = None) -> str:
    value = doc.get(name, default)
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string", field=name)
    if len(value) > limit:
        raise InvalidInput(f"{name} must be at most {limit} characters", field=name)
    return value


def _field_int(doc: Mapping[str, Any], name: str, top: int, default: int | None = None) -> int:
    value = doc.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise InvalidInput(f"{name} must be a whole number from 0 to {top}", field=name)
    return value


def record_from_document(doc: object) -> EventRecord:
    """Check one record an agent sent; anything off is InvalidInput naming the field.

    The agent runs on a customer's machine and may be anyone's: every value is
    typed and bounded before a page shows it. Unknown keys are dropped.
    """
    if not isinstance(doc, Mapping):
        raise InvalidInput("a record must be an object", field="")
    raw_time = _field_text(doc, "time_created", 64)
    try:
        time_created = datetime.fromisoformat(raw_time)
    except ValueError:
        raise InvalidInput("time_created must be an ISO 8601 time", field="time_created") from None
    if time_created.tzinfo is None:
        raise InvalidInput("time_created must carry a time zone", field="time_created")
    user_sid = doc.get("user_sid")
    if user_sid is not None:
        user_sid = _field_text(doc, "user_sid", _MAX_NAME)
    data = doc.get("data", {})
    if not isinstance(data, Mapping):
        raise InvalidInput("data must be an object of strings", field="data")
    if len(data) > _MAX_DATA_ITEMS:
        raise InvalidInput(f"data must hold at most {_MAX_DATA_ITEMS} values", field="data")
    for key, value in data.items():
        if not isinstance(key, str) or len(key) > _MAX_NAME:
            raise InvalidInput(f"data keys must be strings of at most {_MAX_NAME}", field="data")
        if not isinstance(value, str) or len(value) > _MAX_TEXT:
            raise InvalidInput(
                f"data.{key[:50]} must be a string of at most {_MAX_TEXT}", field=f"data.{key}"
            )
    return EventRecord(
        log_name=_field_text(doc, "log_name", _MAX_NAME),
        provider=_field_text(doc, "provider", _MAX_NAME),
        event_id=_field_int(doc, "event_id", _MAX_EVENT_ID),
        level=_field_int(doc, "level", 255),
        record_id=_field_text(doc, "record_id", _MAX_RECORD_ID),
        time_created=time_created,
        computer=_field_text(doc, "computer", _MAX_NAME, ""),
        user_sid=user_sid,
        keywords=_field_int(doc, "keywords", _MAX_KEYWORDS, 0),
        data=dict(data),
        message=_field_text(doc, "message", _MAX_TEXT, ""),
    )


def records_from_answer(data: object, limit: int) -> list[dict[str, Any]]:
    """The records of an `eventlog.query` answer, checked and in the record shape.

    Raises InvalidInput naming the place (`records.3.event_id`) of the first
    problem: a partly wrong answer is refused whole rather than shown in part.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("records"), list):
        raise InvalidInput('the answer must be {"records": [...]}', field="records")
    records = data["records"]
    if len(records) > limit:
        raise InvalidInput(
            f"the answer holds {len(records)} records, more than the {limit} asked for",
            field="records",
        )
    shaped = []
    for i, doc in enumerate(records):
        try:
            shaped.append(record_document(record_from_document(doc)))
        except InvalidInput as error:
            place = f"records.{i}.{error.field}" if error.field else f"records.{i}"
            raise InvalidInput(f"{place}: {error.message}", field=place) from None
    return shaped
