"""What a new alert's trigger leads to: client, maintenance windows, rules, dedup.

One decision, in one order, for the pipeline (which then stores the alert and
opens or re-triggers the ticket) and for a rule dry run (which stores
nothing). It takes what the pipeline already holds: the asset, the client its
organisation maps to, and the tenant's windows and rule book (kept per config
version), and it records why in the alert's trace.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fleetward.domain.alerts import AlertStatus, IngestResult, NormalizedEvent, dedup_key
from fleetward.domain.integrations import Asset, Integration, resolve_client
from fleetward.domain.maintenance import MaintenanceWindow
from fleetward.domain.rules import AlertRule, RuleBook, RuleOutcome, evaluate

UNRESOLVED_CLIENT = "unresolved: no asset assignment, organisation mapping or default client"
NO_RULE_MATCHED = "no rule matched: recorded only"


class Verdict(enum.Enum):
    UNRESOLVED = "unresolved"  # no client: recorded, nothing else applies
    SUPPRESSED = "suppressed"  # a maintenance window covers it
    NO_RULE = "no_rule"  # recorded only
    NO_TICKET = "no_ticket"  # the matching rule does not create tickets
    TICKET = "ticket"  # open, or re-trigger, the open ticket under dedup_key


_STATUS_AND_RESULT = {
    Verdict.UNRESOLVED: (AlertStatus.ACTIVE, IngestResult.RECORDED),
    Verdict.SUPPRESSED: (AlertStatus.SUPPRESSED, IngestResult.SUPPRESSED),
    Verdict.NO_RULE: (AlertStatus.ACTIVE, IngestResult.RECORDED),
    Verdict.NO_TICKET: (AlertStatus.ACTIVE, IngestResult.RECORDED),
    Verdict.TICKET: (AlertStatus.ACTIVE, IngestResult.CREATED),
}


@dataclass(frozen=True, slots=True)
class TicketPlan:
    """The ticket a rule asks for: the open one under `dedup_key`, else a new one."""

    rule: AlertRule
    client_id: uuid.UUID
    dedup_key: str


@dataclass(frozen=True, slots=True)
class TriggerDecision:
    verdict: Verdict
    client_id: uuid.UUID | None
    rules: RuleOutcome | None  # None when no rule was tried (no client, or suppressed)
    ticket: TicketPlan | None  # set for Verdict.TICKET only
    # The alert's trace so far; the caller goes on writing into it (the ticket's part).
    trace: dict[str, Any]

    @property
    def rule(self) -> AlertRule | None:
        return None if self.rules is None else self.rules.rule

    @property
    def status(self) -> AlertStatus:
        return _STATUS_AND_RESULT[self.verdict][0]

    @property
    def result(self) -> IngestResult:
        return _STATUS_AND_RESULT[self.verdict][1]


def decide_trigger(
    integration: Integration,
    event: NormalizedEvent,
    asset: Asset | None,
    mapped_client_id: uuid.UUID | None,
    windows: Sequence[MaintenanceWindow],
    book: RuleBook,
) -> TriggerDecision:
    """Client first (asset, organisation mapping, default), then the first window
    covering the alert, then the first matching rule, then its ticket's dedup key."""
    client_id = resolve_client(asset, mapped_client_id, integration)
    trace: dict[str, Any] = {"client_id": str(client_id) if client_id else None}
    if client_id is None:
        trace["client"] = UNRESOLVED_CLIENT
        return TriggerDecision(Verdict.UNRESOLVED, None, None, None, trace)
    if _covered(windows, integration, event, client_id, asset, trace):
        return TriggerDecision(Verdict.SUPPRESSED, client_id, None, None, trace)
    outcome = evaluate(book, event, client_id)
    trace["rules"] = outcome.explain()
    rule = outcome.rule
    if rule is None:
        trace["ticket"] = NO_RULE_MATCHED
        return TriggerDecision(Verdict.NO_RULE, client_id, outcome, None, trace)
    if not rule.actions.create_ticket:
        trace["ticket"] = f"rule {rule.name!r} does not create tickets: recorded only"
        return TriggerDecision(Verdict.NO_TICKET, client_id, outcome, None, trace)
    key = dedup_key(client_id, event.device.external_id, event.condition_identity)
    plan = TicketPlan(rule, client_id, key)
    return TriggerDecision(Verdict.TICKET, client_id, outcome, plan, trace)


def _covered(
    windows: Sequence[MaintenanceWindow],
    integration: Integration,
    event: NormalizedEvent,
    client_id: uuid.UUID,
    asset: Asset | None,
    trace: dict[str, Any],
) -> bool:
    tried = []
    covered = False
    for window in windows:
        if not window.applies_to(integration.id, client_id, asset.id if asset else None):
            reason = "scope does not match"
        elif window.active_at(event.occurred_at):
            reason = "covers the alert time: suppressed"
            covered = True
        else:
            reason = "not active at the alert time"
        tried.append({"window_id": str(window.id), "window": window.name, "result": reason})
        if covered:
            break
    trace["windows"] = tried
    return covered
