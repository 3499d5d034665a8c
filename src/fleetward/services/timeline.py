"""The per-machine timeline: agents send batches in, people query it, old events age out."""

from __future__ import annotations

import hashlib
import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from fleetward.domain.agents import TIMELINE_DEFAULT_SORT, Agent, StoredEvent, TimelineFilter
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access, Principal
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.domain.text import clean_json, sent_text, text_problem
from fleetward.domain.timeline import TimelineEvent, timeline_kind
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.memory import Memory
from fleetward.services.ports import Clock, UnitOfWork
from fleetward.services.sent_json import loads_sent

MAX_BATCH = 5_000
# The body limit counts compressed bytes; this caps what a small gzip body may
# inflate to, so a zip bomb costs at most this much memory before it is refused.
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024
SOURCE_MAX = 200  # the obs_event.source column
RECORD_ID_MAX = 300  # the obs_event.event_record_id column
PAYLOAD_MAX_BYTES = 64 * 1024
EVENT_KEYS = frozenset({"pc_id", "at", "kind", "source", "event_record_id", "payload"})
# Payload filter keys are top-level names; the narrow alphabet keeps them out of
# JSON-path syntax on SQLite ($."key") without any escaping to get wrong.
_PAYLOAD_KEY = re.compile(r"[A-Za-z0-9_-]{1,100}")
# How orjson writes what kept text may not hold: escapes of C0 controls other than
# tab and line feed, and DEL and C1 characters as they are. (An escaped backslash
# before "u00" matches too; that costs one needless cleaning, nothing else.)
_ESCAPED_CONTROL = re.compile(rb"\\u00|\\[bfr]|\x7f|\xc2[\x80-\x9f]")
# Batches remembered per process: an agent re-sends a batch whose answer it
# never got, byte for byte, until one arrives. 16 bytes a digest plus the key.
COMMITTED_BATCHES = 20_000
# An agent re-sends within minutes; see CommittedBatches.
COMMITTED_SECONDS = 600.0


class BatchTooLarge(InvalidInput):
    """More events than one batch may hold: the sender should split it (HTTP 413)."""


@dataclass(frozen=True, slots=True)
class IntakeResult:
    accepted: int
    duplicates: int


def _text(value: Any, field: str, max_len: int) -> str:
    """A filter a person sent: refused, naming the field, when it is not kept text."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field} must be a non-empty string", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"{field} must be at most {max_len} characters", field=field)
    if problem := text_problem(value):
        # NUL would make PostgreSQL fail the query (a 5xx, not the caller's 4xx).
        raise InvalidInput(f"{field} {problem}", field=field)
    return value


def _time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be an ISO 8601 time with a time zone", field=field)
    try:
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise InvalidInput(f"{field} must carry a time zone (e.g. Z)", field=field)
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{field} is not an ISO 8601 time", field=field) from None


def _canonical(value: Any, field: str) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        raise InvalidInput(f"{field} is not valid JSON", field=field) from None


def _payload(value: Any, field: str) -> tuple[Any, bytes]:
    """The payload, cleaned (domain/text.py) when it must be, and its canonical JSON
    (sorted keys, compact), checked fit to store."""
    if value is not None and not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON object or null", field=field)
    try:
        canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        # A lone surrogate cannot be written as UTF-8; cleaned, it can.
        value = clean_json(value)
        canonical = _canonical(value, field)
    if _ESCAPED_CONTROL.search(canonical):
        # PostgreSQL refuses NUL in jsonb; the other control characters go too.
        value = clean_json(value)
        canonical = _canonical(value, field)
    if len(canonical) > PAYLOAD_MAX_BYTES:
        raise InvalidInput(f"{field} must be at most {PAYLOAD_MAX_BYTES} bytes", field=field)
    return value, canonical


def derived_record_id(at: datetime, kind: str, source: str, canonical_payload: bytes) -> str:
    """A stable id for an event its source gave none: the same event, the same id."""
    head = orjson.dumps([at.isoformat(), kind, source])
    digest = hashlib.sha256(head[:-1] + b"," + canonical_payload + b"]").hexdigest()
    return f"sha256:{digest}"


def event_row(
    agent: Agent, index: int, raw: Any, now: datetime, good_sources: set[str] | None = None
) -> dict[str, Any]:
    """One sent event as an obs_event row, or InvalidInput naming `events.<index>.<field>`.

    `good_sources` remembers sources already found well-formed: a batch repeats a
    handful of them, and the domain's check costs more than the rest of the row.
    The row also carries `payload_json`, the payload's canonical text, and
    `at_sent`, the time as sent, so storage need not serialise either again.
    """
    try:
        return _row(agent, raw, now, good_sources)
    except InvalidInput as error:
        # Named here, on failure only: a batch of 5,000 pays no string formatting.
        where = f"events.{index}"
        if error.field is None:
            raise InvalidInput(f"{where} {error.message}", field=where) from None
        raise InvalidInput(f"{where}.{error.message}", field=f"{where}.{error.field}") from None


def _row(agent: Agent, raw: Any, now: datetime, good_sources: set[str] | None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput("must be an object")
    if not raw.keys() <= EVENT_KEYS:
        name = sorted(set(raw) - EVENT_KEYS)[0]
        raise InvalidInput(f"{name} is not a timeline event field", field=name)
    if "pc_id" in raw and str(raw["pc_id"]).lower() != str(agent.id):
        # An agent writes its own timeline only. A UUID's hex digits may arrive in
        # either case (Windows tools print them upper-case): the same id.
        raise InvalidInput("pc_id is not this agent's id", field="pc_id")
    sent_at = raw.get("at")
    at = _time(sent_at, "at")
    kind = timeline_kind(raw.get("kind"))
    source = raw.get("source")
    if good_sources is None or source not in good_sources:
        source = sent_text(source, "source", SOURCE_MAX)
        TimelineEvent(agent.id, at, kind, source, None, None)
        if good_sources is not None:
            good_sources.add(source)
    payload = raw.get("payload")
    payload, canonical = _payload(payload, "payload")
    record_id = raw.get("event_record_id")
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        record_id = str(record_id)  # Windows record numbers often arrive as numbers
    if record_id is None:
        record_id = derived_record_id(at, kind, source, canonical)
    else:
        record_id = sent_text(record_id, "event_record_id", RECORD_ID_MAX)
    return {
        "tenant_id": agent.tenant_id,
        "pc_id": agent.id,
        "at": at,
        "kind": kind,
        "source": source,
        "event_record_id": record_id,
        "payload": payload,
        "payload_json": canonical.decode(),
        "at_sent": sent_at,  # lets storage skip formatting `at` again
        "received_at": now,
    }


def _filter_text(values: list[str], field: str) -> tuple[str, ...]:
    return tuple(_text(v, field, SOURCE_MAX) for v in values)


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{field} must carry a time zone (e.g. Z)", field=field)
    return None if value is None else value.astimezone(UTC)


def parse_payload_filters(values: list[str]) -> tuple[tuple[str, str], ...]:
    """`key:value` pairs; the value may itself hold colons."""
    pairs = []
    for value in values:
        key, sep, wanted = value.partition(":")
        if not sep or not _PAYLOAD_KEY.fullmatch(key):
            raise InvalidInput(
                "payload must be key:value with a key of letters, digits, _ or -", field="payload"
            )
        pairs.append((key, _text(wanted, "payload", SOURCE_MAX)))
    return tuple(pairs)


def batch_items(body: Any, key: str, items: str, batch: str) -> list[Any]:
    """The list an agent's batch `{key: [...]}` carries, checked for shape and size
    (BatchTooLarge past MAX_BATCH); the items themselves are the caller's to check."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise InvalidInput(f"{key} must be a list of {items}", field=key)
    extra = set(body) - {key}
    if extra:
        name = sorted(extra)[0]
        raise InvalidInput(f"{name} is not a field of {batch}", field=name)
    found: list[Any] = body[key]
    if len(found) > MAX_BATCH:
        raise BatchTooLarge(
            f"{key} holds {len(found)} {key}; a batch holds at most {MAX_BATCH}", field=key
        )
    return found


def _inflate(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing only
    try:
        data = inflater.decompress(raw, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error:
        raise InvalidInput("body is not valid gzip", field="body") from None
    if len(data) > MAX_DECOMPRESSED_BYTES:
        raise BatchTooLarge(
            f"body inflates to more than {MAX_DECOMPRESSED_BYTES} bytes", field="body"
        )
    if not inflater.eof or inflater.unused_data:
        raise InvalidInput("body is not one complete gzip stream", field="body")
    return data


def decode_body(raw: bytes, encoding: str) -> Any:
    """The JSON an agent's batch carried, inflated first when it was sent gzip-encoded,
    and its strings cleaned: an event is kept, not refused, for a stray control character."""
    if encoding == "gzip":
        raw = _inflate(raw)
    elif encoding not in ("", "identity"):
        raise InvalidInput(
            f"Content-Encoding {encoding!r} is not supported; send gzip or none",
            field="content-encoding",
        )
    try:
        return loads_sent(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"body is not JSON: {error}", field="body") from None


def batch_digest(body: bytes, encoding: str) -> bytes:
    """What identifies a request body as sent (compressed or not)."""
    return hashlib.blake2b(body, digest_size=16, person=encoding.encode()[:16]).digest()


class CommittedBatches:
    """Digests of batches this process committed, with how many events each held.

    A batch found here was stored whole, so sending it again is all duplicates
    and can be answered without parsing it or asking the database; a miss just
    means the usual path. Bounded: the least recently used go first; and, as
    every memory (services/memory.py), trusted for COMMITTED_SECONDS at most, so
    events deleted by another process's cleanup are not answered from here for long.
    """

    def __init__(self, size: int = COMMITTED_BATCHES) -> None:
        self._memory: Memory[tuple[uuid.UUID, bytes], int] = Memory(size, COMMITTED_SECONDS)

    def remember(self, agent_id: uuid.UUID, digest: bytes, events: int) -> None:
        self._memory.put((agent_id, digest), events)

    def events_in(self, agent_id: uuid.UUID, digest: bytes) -> int | None:
        return self._memory.get((agent_id, digest))

    def forget(self) -> None:
        self._memory.clear()


class TimelineService:
    def __init__(self, uow: UnitOfWork, clock: Clock, probes: CrossTenantProbes) -> None:
        self.uow = uow
        self.clock = clock
        self.probes = probes
        self._committed = CommittedBatches()

    def receive_batch(self, agent: Agent, raw: bytes, encoding: str) -> IntakeResult:
        """A batch as an authenticated agent sent it: a re-send of one this process
        committed is answered from memory, unparsed; anything else is inflated and
        parsed once, then stored (intake)."""
        digest = batch_digest(raw, encoding)
        events = self._committed.events_in(agent.id, digest)
        if events is not None:
            return IntakeResult(0, events)
        return self.intake(agent, decode_body(raw, encoding), digest)

    def intake(self, agent: Agent, body: Any, digest: bytes | None = None) -> IntakeResult:
        """Store a batch all or nothing, committed before the answer; re-sends are no-ops.

        With the `digest` of the body as sent, a later identical batch is answered
        from memory (receive_batch).
        """
        events = batch_items(body, "events", "timeline events", "an event batch")
        now = self.clock()
        good_sources: set[str] = set()
        rows = [event_row(agent, i, raw, now, good_sources) for i, raw in enumerate(events)]
        # Concurrent batches from several agents may share one commit.
        accepted: int = self.uow.run_write(lambda repos: repos.timeline.insert_many(rows))
        if digest is not None:
            self._committed.remember(agent.id, digest, len(rows))
        return IntakeResult(accepted, len(rows) - accepted)

    def query(
        self,
        principal: Principal,
        pc_id: uuid.UUID | None = None,
        kinds: list[str] | None = None,
        sources: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        payload: list[str] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        sort: Sort = TIMELINE_DEFAULT_SORT,
        count_up_to: int = 0,
    ) -> Page[StoredEvent]:
        """Newest first unless `sort` says oldest; with `count_up_to`, the total counts
        matches up to one more than it. A machine of another tenant is missing (and the
        attempt audited)."""
        principal.require(Access.READ)
        where = TimelineFilter(
            pc_id=pc_id,
            kinds=tuple(timeline_kind(kind) for kind in kinds or ()),
            sources=_filter_text(sources or [], "source"),
            since=_aware(since, "since"),
            until=_aware(until, "until"),
            payload=parse_payload_filters(payload or []),
        )
        size = clamp_limit(limit)
        with self.uow.read() as repos:
            if pc_id is not None and repos.agents.get(principal.tenant_id, pc_id) is None:
                missing = True
            else:
                missing = False
                page: Page[StoredEvent] = repos.timeline.search(
                    principal.tenant_id, where, size, cursor, sort, count_up_to
                )
        if missing:
            assert pc_id is not None
            raise self.probes.missing(principal, "agent", pc_id, lambda r: r.agents)
        return page

    def cleanup(self, retention_days: int) -> int:
        """Delete every tenant's events recorded more than `retention_days` ago."""
        if retention_days < 1:
            raise InvalidInput("retention must be at least one day", field="retention_days")
        cutoff = self.clock() - timedelta(days=retention_days)
        with self.uow.write() as repos:
            deleted: int = repos.timeline.delete_before(cutoff)
        # A deleted event sent again is new again, not a duplicate.
        self._committed.forget()
        return deleted
