"""Alert rules: ordered, admin-managed settings that route alerts to tickets.

Conditions and actions are stored as JSON documents, so writes go through
RuleRepository.save rather than ScopedResource's column updates; reads, the
role check and the cross-tenant 404 stay ScopedResource's.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

from fleetward.domain.alerts import EventKind, Ignored, IngestResult
from fleetward.domain.errors import InvalidInput, PayloadError
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.domain.integrations import Integration
from fleetward.domain.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from fleetward.domain.rules import (
    AlertRule,
    RuleActions,
    RuleConditions,
    rule_json,
    validate_rule,
)
from fleetward.domain.tenancy import clean_name
from fleetward.domain.text import clean_json
from fleetward.domain.tickets import StatusKind
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, Repositories, UnitOfWork
from fleetward.services.resources import ScopedResource
from fleetward.services.webhooks import Normalize

OBJECT_TYPE = "alert_rule"
_BAD_CURSOR = "cursor is not one this server handed out"


def rule_document(rule: AlertRule) -> dict[str, Any]:
    """The rule as the API shows it and the audit log records it (JSON values only)."""
    conditions, actions = rule_json(rule)
    return {
        "id": str(rule.id),
        "name": rule.name,
        "active": rule.active,
        "position": rule.position,
        "conditions": conditions,
        "actions": actions,
    }


@dataclass(frozen=True, slots=True)
class Trial:
    """What the pipeline would do with one event of a test payload."""

    kind: EventKind | None
    result: IngestResult
    trace: dict[str, Any]


def _not_yours(field: str, object_id: uuid.UUID, noun: str) -> InvalidInput:
    # The same words for a random id and another tenant's: nothing leaks about the latter.
    return InvalidInput(f"{field}: {object_id} is not {noun} of yours", field=field)


def _check_conditions(repos: Repositories, tenant_id: uuid.UUID, c: RuleConditions) -> None:
    for client_id in sorted(c.client_ids):
        if repos.clients.get(tenant_id, client_id) is None:
            raise _not_yours("conditions.client_ids", client_id, "a client")


def _check_actions(repos: Repositories, tenant_id: uuid.UUID, a: RuleActions) -> None:
    single = (
        ("actions.board_id", a.board_id, repos.boards, "a board"),
        ("actions.priority_id", a.priority_id, repos.priorities, "a priority"),
        ("actions.assignee_id", a.assignee_id, repos.users, "a user"),
    )
    for field, object_id, rows, noun in single:
        if object_id is not None and rows.get(tenant_id, object_id) is None:
            raise _not_yours(field, object_id, noun)
    for user_id in a.notify_user_ids:
        if repos.users.get(tenant_id, user_id) is None:
            raise _not_yours("actions.notify_user_ids", user_id, "a user")
    if a.auto_resolve_status_id is not None:
        field = "actions.auto_resolve_status_id"
        status = repos.statuses.get(tenant_id, a.auto_resolve_status_id)
        if status is None:
            raise _not_yours(field, a.auto_resolve_status_id, "a ticket status")
        # Auto-resolve marks the ticket closed: an open status would contradict it.
        if status.kind is not StatusKind.CLOSED:
            raise InvalidInput(f"{field} must name a closed status", field=field)
        if a.board_id is not None and status.board_id != a.board_id:
            raise InvalidInput(f"{field} must be a status of actions.board_id", field=field)


class RuleService:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        probes: CrossTenantProbes,
        pipeline: AlertPipeline,
        normalize: Normalize,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.pipeline = pipeline
        self.normalize = normalize
        # Rules are settings: admins change them, every role may read them.
        self.rules = ScopedResource[AlertRule](
            uow, clock, probes, OBJECT_TYPE, lambda r: r.rules, Access.ADMIN, document=rule_document
        )

    # Reads

    def get(self, principal: Principal, rule_id: uuid.UUID) -> AlertRule:
        return self.rules.get(principal, rule_id)

    def page(self, principal: Principal, limit: int | None, cursor: str | None) -> Page[AlertRule]:
        """In evaluation order; the cursor names the last rule shown.

        Rules are few per tenant and the pipeline loads them all anyway, so a
        page is a slice of the ordered list.
        """
        principal.require(Access.READ)
        size = clamp_limit(limit)
        with self.uow.read() as repos:
            rules: list[AlertRule] = repos.rules.ordered(principal.tenant_id)
        start = 0
        if cursor:
            position, last_id = decode_cursor(cursor, 2)
            if not isinstance(position, int) or not isinstance(last_id, str):
                raise InvalidInput(_BAD_CURSOR, field="cursor")
            ids = [str(r.id) for r in rules]
            if last_id in ids:
                start = ids.index(last_id) + 1
            else:  # deleted meanwhile: carry on after its position
                start = next((i for i, r in enumerate(rules) if r.position > position), len(rules))
        items = rules[start : start + size]
        more = start + size < len(rules)
        last = items[-1] if items else None
        next_cursor = encode_cursor(last.position, str(last.id)) if more and last else None
        return Page(items, next_cursor)

    # Writes

    def create(
        self,
        principal: Principal,
        name: str,
        active: bool,
        conditions: RuleConditions,
        actions: RuleActions,
    ) -> AlertRule:
        principal.require(Access.ADMIN)
        tenant_id = principal.tenant_id
        draft = AlertRule(new_id(), tenant_id, clean_name(name), active, 0, conditions, actions)
        validate_rule(draft)
        with self.uow.write() as repos:
            # Two admins adding at once must not both take the last position.
            repos.tenants.lock(tenant_id)
            _check_conditions(repos, tenant_id, conditions)
            _check_actions(repos, tenant_id, actions)
            rule = dataclasses.replace(draft, position=repos.rules.next_position(tenant_id))
            repos.rules.save(rule, self.clock(), created=True)
            self._record(repos, principal, "create", rule.id, after=rule_document(rule))
        return rule

    def update(
        self,
        principal: Principal,
        rule_id: uuid.UUID,
        name: str | None = None,
        active: bool | None = None,
        conditions: RuleConditions | None = None,
        actions: RuleActions | None = None,
    ) -> AlertRule:
        """Conditions and actions are replaced as wholes, never merged key by key."""
        principal.require(Access.ADMIN)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = clean_name(name)
        if active is not None:
            changes["active"] = active
        if conditions is not None:
            changes["conditions"] = conditions
        if actions is not None:
            changes["actions"] = actions
        tenant_id = principal.tenant_id
        with self.uow.write() as repos:
            before: AlertRule | None = repos.rules.get(tenant_id, rule_id)
            if before is not None:
                after = dataclasses.replace(before, **changes)
                if after == before:
                    return before
                validate_rule(after)
                # Ids are checked only where sent: renaming a rule whose client was
                # deleted since must not fail on a part the caller did not touch.
                if conditions is not None:
                    _check_conditions(repos, tenant_id, conditions)
                if actions is not None:
                    _check_actions(repos, tenant_id, actions)
                repos.rules.save(after, self.clock(), created=False)
                self._record(
                    repos,
                    principal,
                    "update",
                    rule_id,
                    before=rule_document(before),
                    after=rule_document(after),
                )
                return after
        raise self.rules.missing(principal, rule_id)

    def delete(self, principal: Principal, rule_id: uuid.UUID) -> None:
        self.rules.delete(principal, rule_id)

    def reorder(self, principal: Principal, rule_ids: list[uuid.UUID]) -> list[AlertRule]:
        """Positions become 0..n-1 in the given order, which must name every rule once."""
        principal.require(Access.ADMIN)
        tenant_id = principal.tenant_id
        with self.uow.write() as repos:
            repos.tenants.lock(tenant_id)
            current: list[AlertRule] = repos.rules.ordered(tenant_id)
            known = {rule.id: rule for rule in current}
            self._check_order(rule_ids, known)
            now = self.clock()
            reordered = []
            for position, rule_id in enumerate(rule_ids):
                rule = known[rule_id]
                if rule.position != position:
                    # updated_at moves too: it is what tells the pipeline to recompile.
                    repos.rules.update(tenant_id, rule_id, position=position, updated_at=now)
                reordered.append(dataclasses.replace(rule, position=position))
            if reordered != current:
                self._record(
                    repos,
                    principal,
                    "reorder",
                    None,
                    before={"rule_ids": [str(r.id) for r in current]},
                    after={"rule_ids": [str(i) for i in rule_ids]},
                )
        return reordered

    @staticmethod
    def _check_order(rule_ids: list[uuid.UUID], known: dict[uuid.UUID, AlertRule]) -> None:
        field = "rule_ids"
        seen: set[uuid.UUID] = set()
        for rule_id in rule_ids:
            if rule_id in seen:
                raise InvalidInput(f"{field} names rule {rule_id} twice", field=field)
            if rule_id not in known:
                raise _not_yours(field, rule_id, "a rule")
            seen.add(rule_id)
        left_out = [str(rule_id) for rule_id in known if rule_id not in seen]
        if left_out:
            raise InvalidInput(
                f"{field} must list every one of your {len(known)} rules; "
                f"missing: {', '.join(left_out)}",
                field=field,
            )

    def _record(
        self,
        repos: Repositories,
        principal: Principal,
        verb: str,
        rule_id: uuid.UUID | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        record(
            repos,
            self.clock,
            principal.tenant_id,
            actor_of(principal),
            f"{OBJECT_TYPE}.{verb}",
            OBJECT_TYPE,
            rule_id,
            before=before,
            after=after,
        )

    # Trying rules on a sample payload

    def trial(self, principal: Principal, integration_id: uuid.UUID, payload: Any) -> list[Trial]:
        """Normalise as the integration's webhook would, then dry-run windows and rules.

        Nothing is stored: no alert, no asset, no ticket, no dead letter.
        """
        principal.require(Access.READ)
        with self.uow.read() as repos:
            integration: Integration | None = repos.integrations.get(
                principal.tenant_id, integration_id
            )
        if integration is None:
            raise _not_yours("integration_id", integration_id, "an integration")
        try:
            # Cleaned as a webhook body is (services/sent_json.py).
            items = self.normalize(integration, clean_json(payload))
        except PayloadError as error:
            raise InvalidInput(error.message, field=error.field) from None
        trials = []
        for item in items:
            if isinstance(item, Ignored):
                trials.append(Trial(None, IngestResult.IGNORED, {"ignored": item.reason}))
            elif item.kind is not EventKind.TRIGGERED:
                note = (
                    f"rules and maintenance windows decide on triggers; a {item.kind.value} "
                    f"follows the alert of series {item.series_key!r}"
                )
                trials.append(Trial(item.kind, IngestResult.IGNORED, {"rules": note}))
            else:
                result, trace = self.pipeline.dry_run(integration, item)
                trials.append(Trial(item.kind, result, trace))
        return trials
