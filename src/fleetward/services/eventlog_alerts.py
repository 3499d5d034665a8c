"""Event-log watch-rule matches become alerts through the alert pipeline.

Agents post `{"matches": [{"rule_id", "record"}]}`; `fleetward evtx import`
hands over the same pairs. Either way the server decides: a rule must be the
agent's tenant's, still exist and still apply to the agent, and the record must
match it here too, or the pair is ignored. An agent cannot open tickets for
rules or records of its own invention.

Each match is a trigger of the tenant's built-in "Fleetward agents"
integration, external id `evtlog:{agent}:{rule}:{record}` (so a re-send is a
duplicate) and condition `evtlog:{rule}` (so repeats on one machine re-trigger
one open ticket). The agent's machine is an asset of that integration owned by
its site's client: client resolution, maintenance windows, rules and tickets
then work as for any RMM alert.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from fleetward.domain.agent_config import record_document
from fleetward.domain.agents import Agent
from fleetward.domain.alerts import Device, EventKind, IngestResult, NormalizedEvent, Provider
from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.eventlog import EventRecord, WatchRule, dedup_key, matches
from fleetward.domain.ids import new_id
from fleetward.domain.insertion_strings import resolve_data
from fleetward.domain.integrations import Asset, Integration
from fleetward.domain.text import sent_text
from fleetward.domain.tokens import new_secret
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.ingest_alerts import Outcome
from fleetward.services.ports import Clock, UnitOfWork
from fleetward.services.timeline import batch_items
from fleetward.services.webhooks import SecretBox

# The built-in integration's name; later ones only if a person already took it.
INTEGRATION_NAMES = ("Fleetward agents", "Fleetward agents (built in)", "Fleetward agent alerts")
ACTIVITY_TYPE = "EVENT_LOG"
SOURCE_TYPE = "eventlog"
RECORD_KEYS = frozenset(
    {
        "log_name",
        "provider",
        "event_id",
        "level",
        "record_id",
        "time_created",
        "computer",
        "user_sid",
        "keywords",
        "data",
        "message",
    }
)
MATCH_KEYS = frozenset({"rule_id", "record"})
RECORD_MAX_BYTES = 64 * 1024
MESSAGE_MAX = 32 * 1024
NAME_MAX = 200  # log names, providers, data keys (the alert_class column)
RECORD_ID_MAX = 200  # keeps evtlog:{agent}:{rule}:{record} inside the 300 of external ids


@dataclass(frozen=True, slots=True)
class MatchIntake:
    """What became of a batch: new alerts, re-sent ones, and matches not taken."""

    accepted: int
    duplicates: int
    ignored: int
    outcomes: tuple[Outcome, ...] = ()

    def count(self, result: IngestResult) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result is result)


# Reading a sent record


def _name(value: Any, field: str, max_len: int = NAME_MAX, empty: bool = False) -> str:
    return sent_text(value, field, max_len, empty=empty)


def _free_text(value: Any, field: str, max_len: int) -> str:
    """Message and data text: tabs and line breaks are kept."""
    return sent_text(value, field, max_len, long_text=True, empty=True)


def _whole(value: Any, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def _when(value: Any, field: str) -> datetime:
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None:
            return at.astimezone(UTC)
    raise InvalidInput(f"{field} must be an ISO 8601 time with a time zone", field=field)


def record_from_document(raw: Any, where: str = "record") -> EventRecord:
    """A record as the protocol sends it (docs/agent-protocol.md), or InvalidInput
    naming `{where}.<field>`."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be an object", field=where)
    unknown = set(raw) - RECORD_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InvalidInput(f"{where}.{key} is not a field of a record", field=f"{where}.{key}")
    for key in ("log_name", "provider", "event_id", "level", "record_id", "time_created"):
        if key not in raw:
            raise InvalidInput(f"{where}.{key} is required", field=f"{where}.{key}")
    record_id = raw["record_id"]
    if isinstance(record_id, int) and not isinstance(record_id, bool) and record_id >= 0:
        record_id = str(record_id)
    data = raw.get("data")
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}.data must be an object of strings", field=f"{where}.data")
    data = {
        _name(key, f"{where}.data", NAME_MAX): _free_text(
            value, f"{where}.data.{key}", RECORD_MAX_BYTES
        )
        for key, value in data.items()
    }
    user_sid = raw.get("user_sid")
    record = EventRecord(
        log_name=_name(raw["log_name"], f"{where}.log_name"),
        provider=_name(raw["provider"], f"{where}.provider", empty=True),
        event_id=_whole(raw["event_id"], f"{where}.event_id", 0, 0xFFFF),
        level=_whole(raw["level"], f"{where}.level", 0, 255),
        record_id=_name(record_id, f"{where}.record_id", RECORD_ID_MAX),
        time_created=_when(raw["time_created"], f"{where}.time_created"),
        computer=_name(raw.get("computer", ""), f"{where}.computer", 255, empty=True),
        user_sid=None if user_sid is None else _name(user_sid, f"{where}.user_sid"),
        keywords=_whole(raw.get("keywords", 0), f"{where}.keywords", 0, 2**64 - 1),
        data=data,
        message=_free_text(raw.get("message", ""), f"{where}.message", MESSAGE_MAX),
    )
    if len(orjson.dumps(record_document(record))) > RECORD_MAX_BYTES:
        raise InvalidInput(f"{where} must be at most {RECORD_MAX_BYTES} bytes", field=where)
    return record


def _rule_id(value: Any, field: str) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise InvalidInput(f"{field} must be a watch rule id", field=field)


def parse_matches(body: Any) -> list[tuple[uuid.UUID, EventRecord]]:
    """A `{"matches": [...]}` batch, every item checked before anything is stored."""
    items = batch_items(body, "matches", "watch-rule matches", "a match batch")
    parsed = []
    for index, item in enumerate(items):
        where = f"matches.{index}"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where} must be an object", field=where)
        unknown = set(item) - MATCH_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise InvalidInput(f"{where}.{key} is not a field of a match", field=f"{where}.{key}")
        if "rule_id" not in item:
            raise InvalidInput(f"{where}.rule_id is required", field=f"{where}.rule_id")
        if "record" not in item:
            raise InvalidInput(f"{where}.record is required", field=f"{where}.record")
        rule_id = _rule_id(item["rule_id"], f"{where}.rule_id")
        parsed.append((rule_id, record_from_document(item["record"], f"{where}.record")))
    return parsed


# A match as a normalised event


def _rendered(record: EventRecord) -> str:
    """The record's text; .evtx files carry none, so its data, one value a line, with
    the insertion strings Event Viewer would resolve (%%2313) resolved."""
    if record.message.strip():
        return record.message
    lines = [f"{key}: {value}" for key, value in resolve_data(record.data).items()]
    head = f"{record.provider or 'unknown provider'} event {record.event_id} in {record.log_name}"
    return "\n".join([head, *lines])


def match_event(agent: Agent, rule: WatchRule, record: EventRecord) -> NormalizedEvent:
    occurrence = dedup_key(agent.id, rule.id, record)
    title = f"{rule.name or record.log_name}: {record.provider} {record.event_id}"
    return NormalizedEvent(
        provider=Provider.AGENT,
        kind=EventKind.TRIGGERED,
        external_alert_id=occurrence,
        series_key=occurrence,
        device=Device(external_id=str(agent.id), name=agent.hostname),
        severity=rule.alert_severity,
        condition_identity=f"evtlog:{rule.id}",
        title=title[:500],
        message=_rendered(record),
        occurred_at=record.time_created,
        activity_type=ACTIVITY_TYPE,
        alert_class=record.log_name,
        source_type=SOURCE_TYPE,
        raw=record_document(record),
    )


class EventLogAlertService:
    def __init__(
        self, uow: UnitOfWork, clock: Clock, pipeline: AlertPipeline, secrets: SecretBox
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.pipeline = pipeline
        self.secrets = secrets

    def intake(self, agent: Agent, body: Any) -> MatchIntake:
        """POST /api/v1/agent/matches: validate all, then ingest; committed before it answers."""
        return self.submit(agent, parse_matches(body))

    def submit(self, agent: Agent, found: Sequence[tuple[uuid.UUID, EventRecord]]) -> MatchIntake:
        """Matches the agent (or an import for it) found; the server re-checks each one."""
        with self.uow.read() as repos:
            rules = {watch.id: watch.rule for watch in repos.watches.for_agent(agent)}
            site = repos.sites.get(agent.tenant_id, agent.site_id)
        events = []
        for rule_id, record in found:
            rule = rules.get(rule_id)
            # Another tenant's, deleted, re-scoped, disabled, or not this record's rule.
            if rule is not None and matches(rule, record):
                events.append(match_event(agent, rule, record))
        ignored = len(found) - len(events)
        if not events:
            return MatchIntake(0, 0, ignored)
        integration = self.integration_for(agent.tenant_id)
        self._machine(integration, agent, site.client_id if site is not None else None)
        outcomes = self.pipeline.ingest(integration, list(events))
        duplicates = sum(1 for o in outcomes if o.result is IngestResult.DUPLICATE)
        return MatchIntake(len(events) - duplicates, duplicates, ignored, tuple(outcomes))

    # The tenant's built-in integration and the agent's asset in it

    def integration_for(self, tenant_id: uuid.UUID) -> Integration:
        """The tenant's "Fleetward agents" integration, made on first need.

        Race-safe on both engines: two first matches at once both try to insert
        the same name, the unique (tenant_id, name) lets one win, and the other
        reads the winner's row.
        """
        for name in INTEGRATION_NAMES:
            existing = self._built_in(tenant_id)
            if existing is not None:
                return existing
            now = self.clock()
            integration = Integration(new_id(), tenant_id, Provider.AGENT, name, True, {}, now, now)
            try:
                with self.uow.write() as repos:
                    # A secret nobody is shown: the webhook refuses this integration anyway.
                    repos.integrations.add(integration, self.secrets.seal(new_secret("fwh_")))
                return integration
            except Conflict:
                continue  # someone else made it, or a person's integration has the name
        existing = self._built_in(tenant_id)
        if existing is None:
            raise Conflict(
                "cannot create the Fleetward agents integration: rename the integrations "
                f"named {', '.join(INTEGRATION_NAMES)}"
            )
        return existing

    def _built_in(self, tenant_id: uuid.UUID) -> Integration | None:
        with self.uow.read() as repos:
            page = repos.integrations.page(tenant_id, 1, None, provider=Provider.AGENT.value)
        return page.items[0] if page.items else None

    def _machine(self, integration: Integration, agent: Agent, client_id: uuid.UUID | None) -> None:
        """The agent as an asset of the integration, owned by its site's client."""
        device = str(agent.id)
        with self.uow.read() as repos:
            asset: Asset | None = repos.assets.by_device(integration.id, device)
        if asset is not None and (asset.client_id, asset.name) == (client_id, agent.hostname):
            return
        now = self.clock()
        try:
            with self.uow.write() as repos:
                asset = repos.assets.by_device(integration.id, device)
                if asset is None:
                    repos.assets.insert(
                        Asset(
                            new_id(),
                            agent.tenant_id,
                            integration.id,
                            device,
                            agent.hostname,
                            None,
                            client_id,
                            now,
                            now,
                        )
                    )
                else:
                    repos.assets.update(
                        agent.tenant_id,
                        asset.id,
                        client_id=client_id,
                        name=agent.hostname,
                        updated_at=now,
                    )
        except Conflict:
            pass  # a concurrent batch of this agent inserted it, with the same client
