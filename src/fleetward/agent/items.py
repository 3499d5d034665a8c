"""What the agent sends, built from what the collectors read (shapes: docs/agent-protocol.md).

Every record goes through the domain twice: timeline classification (is it a
boot, a logon ...?) and the watch rules of the current config (is it one an
operator wants an alert for?). Both results are outbox items.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from fleetward.agent.outbox import Item, ItemKind, diagnostic
from fleetward.domain.agent_config import record_document
from fleetward.domain.alerts import Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import DamagedRecord, EventRecord, MinLevel, WatchRule, matches
from fleetward.domain.timeline import Observation

log = logging.getLogger("fleetward.agent")


def event_item(observation: Observation) -> Item:
    return Item(ItemKind.EVENT, observation.document())


def match_item(rule: WatchRule, record: EventRecord) -> Item:
    return Item(ItemKind.MATCH, {"rule_id": str(rule.id), "record": record_document(record)})


def match_items(
    rules: Iterable[WatchRule], record: EventRecord, also_in: tuple[str, ...] = ()
) -> Iterator[Item]:
    """One match item per rule the record meets (in its own log or one it also belongs to).

    The record goes out under the log name the rule matched, so the server's own
    check of the match (the rule's filters against the record) agrees.
    """
    folded = {name.casefold(): name for name in also_in}
    for rule in rules:
        alias = folded.get(rule.log_name.casefold())
        candidate = replace(record, log_name=alias) if alias is not None else record
        if matches(rule, candidate):
            yield match_item(rule, candidate)


def damaged_item(where: str, damage: DamagedRecord, at: datetime) -> Item:
    """A damaged .evtx record as a diagnostic; its id is stable, so a repeat is a duplicate."""
    around = f"{damage.previous_record_id or '-'}..{damage.next_record_id or '-'}"
    record_id = f"damaged:{where}:{damage.record_id or around}"
    item = diagnostic(
        "damaged_record", f"{where}: a damaged record was skipped ({damage.reason})", at, record_id
    )
    item.body["payload"].update(
        {
            "file": where,
            "position": damage.position,
            "reason": damage.reason,
            "damaged_record_id": damage.record_id,
            "previous_record_id": damage.previous_record_id,
            "next_record_id": damage.next_record_id,
        }
    )
    return item


def rules_from_config(config: Mapping[str, Any] | None) -> list[WatchRule]:
    """The enabled watch rules of a config document; a rule that makes no sense is skipped."""
    rules: list[WatchRule] = []
    watches = (config or {}).get("watches") or []
    for raw in watches if isinstance(watches, list) else []:
        try:
            rules.append(_rule(raw))
        except (InvalidInput, KeyError, TypeError, ValueError) as error:
            log.warning("ignoring watch rule %r from the config: %s", raw, error)
    return [r for r in rules if r.enabled]


def _rule(raw: Mapping[str, Any]) -> WatchRule:
    return WatchRule(
        id=str(raw["id"]),
        log_name=str(raw["log_name"]),
        name=str(raw.get("name") or ""),
        event_ids=frozenset(int(i) for i in raw.get("event_ids") or ()),
        providers=tuple(str(p) for p in raw.get("providers") or ()),
        min_level=MinLevel(raw.get("min_level") or MinLevel.VERBOSE.value),
        keywords=tuple(str(k) for k in raw.get("keywords") or ()),
        alert_severity=Severity(raw.get("alert_severity") or Severity.MODERATE.value),
        enabled=bool(raw.get("enabled", True)),
    )
