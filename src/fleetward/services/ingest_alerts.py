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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from fleetward.domain.alerts import (
    FIELDS_FROM_EVENT,
    Alert,
    AlertStatus,
    Device,
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
from fleetward.domain.triggers import TicketPlan, TriggerDecision, Verdict, decide_trigger
from fleetward.services import events
from fleetward.services.flapping import FlapProtection
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
# The alert's message as quoted in a new ticket's first comment (the alert keeps it whole).
OPENING_MESSAGE_CHARS = 2000


def event_of(alert: Alert) -> NormalizedEvent:
    """A stored alert as the trigger it came from (for reprocessing it)."""
    return NormalizedEvent(
        provider=alert.provider,
        kind=EventKind.TRIGGERED,
        external_alert_id=alert.external_alert_id,
        series_key=alert.series_key,
        device=Device(alert.device_external_id, alert.device_name, alert.external_org_id),
        severity=alert.severity,
        condition_identity=alert.condition_identity,
        title=alert.title,
        message=alert.message,
        occurred_at=alert.occurred_at,
        activity_type=alert.activity_type,
        alert_class=alert.alert_class,
        source_type=alert.source_type,
    )


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

    def __init__(self, clock: Clock, base_url: str = "") -> None:
        self.clock = clock
        self.flaps = FlapProtection()
        self.base_url = base_url  # the dashboard's, for the asset link of a new ticket

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
            ticket_id = self.dedup_or_open(
                repos, config, integration, event, asset, decision.ticket, now, decision.trace
            )
            plan = decision.ticket
            self.flaps.triggered(
                repos, config.view, plan.rule, ticket_id, plan.dedup_key, now, decision.trace
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
        events.alert_changed(repos, None, alert, now)
        return Outcome(result, alert.id)

    def reevaluate(
        self,
        repos: Repositories,
        integration: Integration,
        alert_ids: Sequence[uuid.UUID],
        event: NormalizedEvent,
        config: JobConfig,
    ) -> int:
        """Suppressed alerts of one series that the provider still reports, decided
        again as a trigger arriving now: once their window has ended, the ticket
        their rule asks for (the open one under the dedup key, else one new ticket for
        them all). How many left `suppressed` (0 while a window still covers them)."""
        tenant_id = integration.tenant_id
        alerts = [
            found
            for alert_id in alert_ids
            if (found := repos.alerts.get(tenant_id, alert_id)) is not None
            and found.status is AlertStatus.SUPPRESSED
        ]
        if not alerts:
            return 0  # resolved, or re-evaluated by another run, meanwhile
        now = self.clock()
        mapped = config.view.mapped_client(repos, integration.id, event.device.external_org_id)
        asset = asset_for(repos, integration, event, mapped, now)
        # The window is asked about now, not the alert's time (which it covered).
        current = dataclasses.replace(event, occurred_at=now)
        decision, ticket_id = self.decide_again(
            repos, config, integration, current, asset, mapped, now
        )
        if decision.verdict is Verdict.SUPPRESSED:
            return 0
        rule = decision.rule
        for alert in alerts:
            after = dataclasses.replace(
                alert,
                status=decision.status,
                client_id=decision.client_id,
                rule_id=rule.id if rule else None,
                ticket_id=ticket_id,
                # The decision now, as a trigger's trace reads, and what it replaced.
                trace={
                    **decision.trace,
                    "reevaluated": f"still active at {event.provider.value} when its "
                    f"maintenance window had ended (sync at {now.isoformat()})",
                    "suppressed_by": [
                        w.get("window")
                        for w in alert.trace.get("windows", [])
                        if isinstance(w, dict) and "suppressed" in str(w.get("result"))
                    ],
                },
                updated_at=now,
            )
            repos.alerts.update(
                tenant_id,
                alert.id,
                status=after.status.value,
                client_id=after.client_id,
                rule_id=after.rule_id,
                ticket_id=after.ticket_id,
                trace=after.trace,
                updated_at=now,
            )
            events.alert_changed(repos, alert, after, now)
        return len(alerts)

    def decide_again(
        self,
        repos: Repositories,
        config: JobConfig,
        integration: Integration,
        event: NormalizedEvent,
        asset: Asset | None,
        mapped: uuid.UUID | None,
        now: datetime,
    ) -> tuple[TriggerDecision, uuid.UUID | None]:
        """A stored alert decided again as its trigger would be now (windows, rules),
        and the ticket that decision asks for: the open one under the dedup key,
        re-triggered, else a new one. For reconciliation and reprocessing."""
        view = config.view
        decision = decide_trigger(
            integration, event, asset, mapped, view.windows(repos), view.rule_book(repos)
        )
        ticket_id = None
        if decision.ticket is not None:
            ticket_id = self.dedup_or_open(
                repos, config, integration, event, asset, decision.ticket, now, decision.trace
            )
        return decision, ticket_id

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

    def dedup_or_open(
        self,
        repos: Repositories,
        config: JobConfig,
        integration: Integration,
        event: NormalizedEvent,
        asset: Asset | None,
        plan: TicketPlan,
        now: datetime,
        trace: dict[str, Any],
    ) -> uuid.UUID:
        """Re-trigger the open ticket under the plan's dedup key, or open one."""
        tenant_id = integration.tenant_id
        rule, client_id, key = plan.rule, plan.client_id, plan.dedup_key
        repos.tenants.lock(tenant_id)  # one ticket per key, numbers without gaps
        # The open ticket, else the last closed one flap protection may reopen.
        ticket: Ticket | None = repos.tickets.latest_by_key(tenant_id, key)
        if ticket is not None and not ticket.is_closed:
            count = repos.tickets.bump_occurrence(ticket.id, now)
            system_comment(repos, ticket, retrigger_comment(count), now)
            trace["dedup"] = f"open ticket #{ticket.number} re-triggered: occurrence {count}"
            trace["ticket_id"] = str(ticket.id)
            retriggered = dataclasses.replace(ticket, occurrence_count=count, updated_at=now)
            notify_rule_users(repos, rule, event, client_id, retriggered, now)
            events.ticket_changed(repos, ticket, retriggered, now, by="alert")
            return ticket.id
        reopened = self.flaps.reopen(repos, config.view, ticket, now, trace)
        if reopened is not None:
            return reopened.id
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
        system_comment(repos, ticket, self._opening_comment(integration, event, asset), now)
        trace["dedup"] = (
            f"no open ticket for this client, device and condition: opened #{ticket.number}"
        )
        trace["ticket_id"] = str(ticket.id)
        notify_rule_users(repos, rule, event, client_id, ticket, now)
        events.ticket_changed(repos, None, ticket, now, by="alert")
        return ticket.id

    def _opening_comment(
        self, integration: Integration, event: NormalizedEvent, asset: Asset | None
    ) -> str:
        """The new ticket's first comment: what the alert said, where it came from."""
        device = event.device
        lines = [
            f"Opened for alert: {event.title}",
            f"Severity: {event.severity.value}",
            f"Occurred: {event.occurred_at.isoformat()}",
            f"Device: {device.name or device.external_id} ({device.external_id})",
            f"Source: {event.provider.value}, integration {integration.name!r}, "
            f"alert {event.external_alert_id}",
        ]
        if asset is not None:
            lines.append(f"Asset: {self.base_url}/assets/{asset.id}")
        if event.message:
            lines.append(f"Message: {event.message[:OPENING_MESSAGE_CHARS]}")
        return "\n".join(lines)

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
