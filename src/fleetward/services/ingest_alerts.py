"""Pipeline A, trigger: a normalised event becomes an alert, and maybe a ticket.

An occurrence is stored once (a replay is a duplicate); domain/triggers.py
decides client, maintenance window, rule and dedup key, and this carries the
decision out: the alert, and the open ticket re-triggered or a new one.
Everything for one request happens in one transaction, and each alert keeps
a trace of the decisions taken on it.
"""

from __future__ import annotations

import dataclasses
import operator
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from fleetward.domain.alerts import (
    FIELDS_FROM_EVENT,
    Alert,
    EventKind,
    Ignored,
    IngestResult,
    NormalizedEvent,
)
from fleetward.domain.ids import new_id
from fleetward.domain.integrations import Asset, Integration
from fleetward.domain.rules import AlertRule
from fleetward.domain.templates import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    TemplateRenderError,
    render,
)
from fleetward.domain.tickets import (
    SEVERITY_PRIORITY,
    Comment,
    Ticket,
    default_title,
    retrigger_comment,
)
from fleetward.domain.triggers import TicketPlan, Verdict, decide_trigger
from fleetward.services.memory import Memory
from fleetward.services.notifications import notify_rule_users
from fleetward.services.ports import Clock, Repositories
from fleetward.services.tenant_config import TenantView
from fleetward.services.ticket_defaults import ensure_defaults

log = structlog.get_logger("fleetward.pipeline")

# When several alerts arrive in one request, the answer names the weightiest.
_WEIGHT = [
    IngestResult.CREATED,
    IngestResult.RESOLVED,
    IngestResult.ACKNOWLEDGED,
    IngestResult.SUPPRESSED,
    IngestResult.RECORDED,
    IngestResult.DUPLICATE,
    IngestResult.IGNORED,
]


@dataclass(frozen=True, slots=True)
class Outcome:
    result: IngestResult
    alert_id: uuid.UUID | None


def summary(outcomes: list[Outcome]) -> Outcome:
    if not outcomes:
        return Outcome(IngestResult.IGNORED, None)
    return min(outcomes, key=lambda o: _WEIGHT.index(o.result))


def new_alert(
    integration: Integration,
    event: NormalizedEvent,
    asset: Asset,
    now: datetime,
    **decided: Any,
) -> Alert:
    """The alert row for an event; `decided` holds what the pipeline worked out
    (status, client, rule, ticket, trace...)."""
    device = event.device
    return Alert(
        id=new_id(),
        tenant_id=integration.tenant_id,
        integration_id=integration.id,
        device_external_id=device.external_id,
        device_name=device.name,
        external_org_id=device.external_org_id,
        asset_id=asset.id,
        created_at=now,
        updated_at=now,
        **dict(zip(FIELDS_FROM_EVENT, _from_event(event), strict=True)),
        **decided,
    )


# One C call for the event's values (a trigger's path: cheaper than a getattr each).
_from_event = operator.attrgetter(*FIELDS_FROM_EVENT)


@dataclass(slots=True)
class JobConfig:
    """The tenant configuration one write job reads (it may switch to a private view)."""

    view: TenantView


SEEN_SIZE = 200_000
# An occurrence stays ingested, so this age bounds nothing but the rule every
# memory keeps (services/memory.py); a replay past it asks the database once.
SEEN_SECONDS = 600.0


class SeenOccurrences:
    """Occurrences (and resets, acknowledgements) this process has committed.

    An ingested occurrence stays ingested, so a replay found here can be
    answered "duplicate" without the database; a miss just means asking it.
    Bounded: the least recently used entries go first.
    """

    def __init__(self, size: int = SEEN_SIZE) -> None:
        self._memory: Memory[tuple[uuid.UUID, str, str], Outcome] = Memory(size, SEEN_SECONDS)

    def remember(
        self,
        integration_id: uuid.UUID,
        items: list[NormalizedEvent | Ignored],
        outcomes: list[Outcome],
    ) -> None:
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(item, Ignored):
                continue
            # A trigger's replay names its alert; a reset's replay names none.
            alert_id = outcome.alert_id if item.kind is EventKind.TRIGGERED else None
            key = (integration_id, item.kind.value, item.external_alert_id)
            self._memory.put(key, Outcome(IngestResult.DUPLICATE, alert_id))

    def answers(
        self, integration_id: uuid.UUID, items: list[NormalizedEvent | Ignored]
    ) -> list[Outcome] | None:
        outcomes = []
        for item in items:
            if isinstance(item, Ignored):
                outcomes.append(_IGNORED)
                continue
            known = self._memory.get((integration_id, item.kind.value, item.external_alert_id))
            if known is None:
                return None
            outcomes.append(known)
        return outcomes


_IGNORED = Outcome(IngestResult.IGNORED, None)


def asset_for(
    repos: Repositories,
    integration: Integration,
    event: NormalizedEvent,
    mapped: uuid.UUID | None,
    now: datetime,
) -> Asset:
    """The device as an asset, created on first sight with the mapped client."""
    device = event.device
    asset: Asset | None = repos.assets.by_device(integration.id, device.external_id)
    if asset is None:
        asset = Asset(
            new_id(),
            integration.tenant_id,
            integration.id,
            device.external_id,
            device.name,
            device.external_org_id,
            mapped,
            now,
            now,
        )
        repos.assets.insert(asset)
    elif device.name and device.name != asset.name:
        repos.assets.update(asset.tenant_id, asset.id, name=device.name, updated_at=now)
    return asset


def system_comment(repos: Repositories, ticket: Ticket, body: str, now: datetime) -> None:
    repos.comments.insert(Comment(new_id(), ticket.tenant_id, ticket.id, "system", None, body, now))


class TriggerIngest:
    """Triggers: an alert per new occurrence, and the ticket its rule asks for."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def trigger(
        self,
        repos: Repositories,
        integration: Integration,
        event: NormalizedEvent,
        config: JobConfig,
    ) -> Outcome:
        existing = repos.alerts.find(integration.id, event.external_alert_id)
        if existing is not None:
            return Outcome(IngestResult.DUPLICATE, existing)
        now = self.clock()
        tenant_id = integration.tenant_id
        view = config.view
        mapped = view.mapped_client(repos, integration.id, event.device.external_org_id)
        asset = asset_for(repos, integration, event, mapped, now)
        decision = decide_trigger(
            integration, event, asset, mapped, view.windows(repos), view.rule_book(repos)
        )
        if decision.rules is not None:
            for failed_rule, _, error in decision.rules.tried:
                if error is not None:  # skipped, and said so where an admin will look
                    log.warning(
                        "alert_rule_failed",
                        tenant_id=str(tenant_id),
                        rule_id=str(failed_rule.id),
                        rule=failed_rule.name,
                        error=error,
                    )
        rule = decision.rule
        ticket_id = None
        if decision.ticket is not None:
            ticket_id = self._dedup_or_open(
                repos, config, integration, event, decision.ticket, now, decision.trace
            )
        alert = new_alert(
            integration,
            event,
            asset,
            now,
            status=decision.status,
            client_id=decision.client_id,
            rule_id=rule.id if rule else None,
            ticket_id=ticket_id,
            trace=decision.trace,
        )
        result = decision.result
        repos.alerts.add(alert, event.raw)
        if rule is not None and decision.ticket is None:  # matched by a rule that opens none
            notify_rule_users(repos, rule, event, decision.client_id, None, now, alert.id)
        repos.events.add(
            tenant_id, "alert.triggered", {"alert_id": str(alert.id), "result": result.value}, now
        )
        return Outcome(result, alert.id)

    def dry_run(
        self,
        repos: Repositories,
        view: TenantView,
        integration: Integration,
        event: NormalizedEvent,
    ) -> tuple[IngestResult, dict[str, Any]]:
        """The trigger's decision for a sample event, worded as what would happen."""
        asset = repos.assets.by_device(integration.id, event.device.external_id)
        mapped = view.mapped_client(repos, integration.id, event.device.external_org_id)
        decision = decide_trigger(
            integration, event, asset, mapped, view.windows(repos), view.rule_book(repos)
        )
        trace = decision.trace
        if decision.verdict is Verdict.UNRESOLVED:
            trace["client"] = "unresolved"
        elif decision.verdict in (Verdict.NO_RULE, Verdict.NO_TICKET):
            del trace["ticket"]  # a dry run has always left the result to say "recorded"
        elif decision.verdict is Verdict.TICKET:
            trace["ticket"] = "would open or re-trigger a ticket"
        return decision.result, trace

    def _dedup_or_open(
        self,
        repos: Repositories,
        config: JobConfig,
        integration: Integration,
        event: NormalizedEvent,
        plan: TicketPlan,
        now: datetime,
        trace: dict[str, Any],
    ) -> uuid.UUID:
        """Re-trigger the open ticket under the plan's dedup key, or open one."""
        tenant_id = integration.tenant_id
        rule, client_id, key = plan.rule, plan.client_id, plan.dedup_key
        repos.tenants.lock(tenant_id)  # one ticket per key, numbers without gaps
        ticket: Ticket | None = repos.tickets.open_by_key(tenant_id, key)
        if ticket is not None:
            count = repos.tickets.bump_occurrence(ticket.id, now)
            system_comment(repos, ticket, retrigger_comment(count), now)
            trace["dedup"] = f"open ticket #{ticket.number} re-triggered: occurrence {count}"
            trace["ticket_id"] = str(ticket.id)
            bumped = dataclasses.replace(ticket, occurrence_count=count)
            notify_rule_users(repos, rule, event, client_id, bumped, now)
            repos.events.add(
                tenant_id,
                "ticket.retriggered",
                {"ticket_id": str(ticket.id), "occurrence": count},
                now,
            )
            return ticket.id
        view = config.view
        board = None
        if rule.actions.board_id is not None:
            board = view.board(repos, rule.actions.board_id)
        board = board or view.first_board(repos)
        if board is None:
            # The tenant's first ticket: this job creates the default board, so
            # its view of the config is its own from here on (never published).
            board = ensure_defaults(repos, tenant_id, self.clock)
            view = config.view = TenantView(tenant_id, None)
        status_id = board.default_status_id or repos.statuses.of_board(tenant_id, board.id)[0].id
        priority_id = rule.actions.priority_id
        if priority_id is None:
            priority = view.priority(repos, SEVERITY_PRIORITY[event.severity])
            priority_id = priority.id if priority else None
        title, description = self._texts(repos, integration, event, client_id, rule, trace)
        ticket = Ticket(
            id=new_id(),
            tenant_id=tenant_id,
            number=repos.tickets.next_number(tenant_id),
            board_id=board.id,
            status_id=status_id,
            priority_id=priority_id,
            assignee_id=rule.actions.assignee_id,
            client_id=client_id,
            title=title,
            description=description,
            dedup_key=key,
            occurrence_count=1,
            is_closed=False,
            created_at=now,
            updated_at=now,
            closed_at=None,
        )
        repos.tickets.insert(ticket)
        trace["dedup"] = (
            f"no open ticket for this client, device and condition: opened #{ticket.number}"
        )
        trace["ticket_id"] = str(ticket.id)
        notify_rule_users(repos, rule, event, client_id, ticket, now)
        repos.events.add(tenant_id, "ticket.created", {"ticket_id": str(ticket.id)}, now)
        return ticket.id

    def _texts(
        self,
        repos: Repositories,
        integration: Integration,
        event: NormalizedEvent,
        client_id: uuid.UUID,
        rule: AlertRule,
        trace: dict[str, Any],
    ) -> tuple[str, str]:
        title = default_title(event.device.name, event.title)
        description = event.message
        templates = (rule.actions.title_template, rule.actions.description_template)
        if not any(templates):
            return title, description
        client = repos.clients.get(integration.tenant_id, client_id)
        variables = {
            "device": event.device.name or event.device.external_id,
            "message": event.message,
            "severity": event.severity.value,
            "organization": event.device.external_org_id or "",
            "client": client.name if client else "",
            "site": "",
            "title": event.title,
            "provider": event.provider.value,
            "occurred_at": event.occurred_at.isoformat(),
        }
        rendered = []
        fields = ("title_template", "description_template")
        caps = (MAX_TITLE_CHARS, MAX_DESCRIPTION_CHARS)
        for name, source, fallback, cap in zip(
            fields, templates, (title, description), caps, strict=True
        ):
            if not source:
                rendered.append(fallback)
                continue
            try:
                rendered.append(render(source, variables, cap) or fallback)
            except TemplateRenderError as error:
                # A broken template must not lose the ticket: fall back and say so.
                trace.setdefault("template_errors", []).append(f"{name}: {error}")
                rendered.append(fallback)
        # A rendered title is within MAX_TITLE_CHARS already; the default one is cut at
        # the column's width.
        return rendered[0][:500], rendered[1]
