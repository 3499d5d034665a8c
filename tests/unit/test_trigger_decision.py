"""The trigger decision on plain values: client, then windows, then rules, then dedup."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from fleetward.domain.alerts import (
    AlertStatus,
    Device,
    EventKind,
    IngestResult,
    NormalizedEvent,
    Provider,
    Severity,
)
from fleetward.domain.integrations import Asset, Integration
from fleetward.domain.maintenance import MaintenanceWindow, WeeklyRecurrence
from fleetward.domain.rules import AlertRule, RuleActions, RuleBook, RuleConditions
from fleetward.domain.triggers import (
    NO_RULE_MATCHED,
    UNRESOLVED_CLIENT,
    TicketPlan,
    Verdict,
    decide_trigger,
)

TENANT = uuid.uuid4()
AT = datetime(2026, 7, 4, 12, tzinfo=UTC)
ASSIGNED, MAPPED, DEFAULT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def integration(default_client: uuid.UUID | None = None) -> Integration:
    settings = {"default_client_id": str(default_client)} if default_client else {}
    return Integration(uuid.uuid4(), TENANT, Provider.GENERIC, "Uptime", True, settings)


INTEGRATION = integration(DEFAULT)


def event(**fields: object) -> NormalizedEvent:
    values: dict[str, object] = {
        "provider": Provider.GENERIC,
        "kind": EventKind.TRIGGERED,
        "external_alert_id": "a-1",
        "series_key": "s-1",
        "device": Device("srv-01", "SRV-01", "org-7"),
        "severity": Severity.MAJOR,
        "condition_identity": "service-down",
        "title": "Service stopped",
        "message": "The spooler stopped",
        "occurred_at": AT,
    }
    values.update(fields)
    return NormalizedEvent(**values)  # type: ignore[arg-type]


def asset(client_id: uuid.UUID | None = None, of: Integration = INTEGRATION) -> Asset:
    return Asset(uuid.uuid4(), TENANT, of.id, "srv-01", "SRV-01", "org-7", client_id, AT, AT)


def rule(
    name: str,
    position: int = 0,
    conditions: RuleConditions | None = None,
    actions: RuleActions | None = None,
) -> AlertRule:
    return AlertRule(
        uuid.uuid4(),
        TENANT,
        name,
        True,
        position,
        conditions or RuleConditions(),
        actions or RuleActions(),
    )


def window(
    name: str = "patching",
    client_id: uuid.UUID | None = None,
    hours: tuple[float, float] = (-1, 1),
    recurrence: WeeklyRecurrence | None = None,
) -> MaintenanceWindow:
    if recurrence is not None:
        return MaintenanceWindow(
            uuid.uuid4(), TENANT, name, None, client_id, None, None, None, recurrence
        )
    start, end = (AT + timedelta(hours=h) for h in hours)
    return MaintenanceWindow(uuid.uuid4(), TENANT, name, None, client_id, None, start, end, None)


EVERYTHING = RuleBook([rule("everything")])


def test_the_client_is_the_assets_then_the_mapped_then_the_default() -> None:
    def client_of(found: Asset | None, mapped: uuid.UUID | None) -> uuid.UUID | None:
        return decide_trigger(INTEGRATION, event(), found, mapped, [], EVERYTHING).client_id

    assert client_of(asset(ASSIGNED), MAPPED) == ASSIGNED
    assert client_of(asset(None), MAPPED) == MAPPED
    assert client_of(None, MAPPED) == MAPPED
    assert client_of(asset(None), None) == DEFAULT


def test_without_a_client_the_alert_is_recorded_and_nothing_else_is_tried() -> None:
    covering = window()  # would cover it, were there a client
    decision = decide_trigger(integration(), event(), asset(None), None, [covering], EVERYTHING)

    assert decision.verdict is Verdict.UNRESOLVED
    assert (decision.status, decision.result) == (AlertStatus.ACTIVE, IngestResult.RECORDED)
    assert decision.trace == {"client_id": None, "client": UNRESOLVED_CLIENT}
    assert decision.rules is None and decision.rule is None and decision.ticket is None


def test_the_first_window_covering_the_alert_suppresses_it_before_any_rule() -> None:
    elsewhere = window("other client", client_id=uuid.uuid4())
    later = window("tonight", hours=(3, 5))
    covering = window("patching", client_id=MAPPED)
    never_tried = window("also covering")
    windows = [elsewhere, later, covering, never_tried]

    decision = decide_trigger(INTEGRATION, event(), None, MAPPED, windows, EVERYTHING)

    assert decision.verdict is Verdict.SUPPRESSED
    assert (decision.status, decision.result) == (AlertStatus.SUPPRESSED, IngestResult.SUPPRESSED)
    assert decision.trace == {
        "client_id": str(MAPPED),
        "windows": [
            {"window_id": str(w.id), "window": w.name, "result": reason}
            for w, reason in [
                (elsewhere, "scope does not match"),
                (later, "not active at the alert time"),
                (covering, "covers the alert time: suppressed"),
            ]
        ],
    }
    assert decision.rules is None and decision.ticket is None


def test_a_weekly_window_covers_its_hours_in_its_own_time_zone() -> None:
    # 23:30 UTC on Saturday 4 July 2026 is 01:30 on Sunday in Berlin.
    weekly = WeeklyRecurrence(frozenset({6, 0}), time(22), time(4), "Europe/Berlin")
    nightly = window("nightly", recurrence=weekly)
    saturday_night = event(occurred_at=datetime(2026, 7, 4, 23, 30, tzinfo=UTC))

    decision = decide_trigger(INTEGRATION, saturday_night, None, None, [nightly], EVERYTHING)

    assert decision.verdict is Verdict.SUPPRESSED
    assert decision.trace["windows"] == [
        {
            "window_id": str(nightly.id),
            "window": "nightly",
            "result": "covers the alert time: suppressed",
        }
    ]


def test_no_matching_rule_records_the_alert_only() -> None:
    critical_only = rule(
        "critical", conditions=RuleConditions(severities=frozenset({Severity.CRITICAL}))
    )
    decision = decide_trigger(INTEGRATION, event(), None, MAPPED, [], RuleBook([critical_only]))

    assert decision.verdict is Verdict.NO_RULE
    assert decision.result is IngestResult.RECORDED
    assert decision.trace["windows"] == []
    assert [r["rule"] for r in decision.trace["rules"]] == ["critical"]
    assert decision.trace["ticket"] == NO_RULE_MATCHED
    assert decision.ticket is None


def test_a_rule_that_creates_no_ticket_says_so() -> None:
    quiet = rule("log only", actions=RuleActions(create_ticket=False))
    decision = decide_trigger(INTEGRATION, event(), None, MAPPED, [], RuleBook([quiet]))

    assert decision.verdict is Verdict.NO_TICKET
    assert (decision.result, decision.rule) == (IngestResult.RECORDED, quiet)
    assert decision.trace["ticket"] == "rule 'log only' does not create tickets: recorded only"
    assert decision.ticket is None


def test_the_first_matching_rule_plans_a_ticket_per_client_device_and_condition() -> None:
    first, second = rule("first", 0), rule("second", 1)
    decision = decide_trigger(INTEGRATION, event(), None, MAPPED, [], RuleBook([second, first]))

    assert decision.verdict is Verdict.TICKET
    assert (decision.status, decision.result) == (AlertStatus.ACTIVE, IngestResult.CREATED)
    assert decision.ticket == TicketPlan(first, MAPPED, f"{MAPPED}|srv-01|service-down")
    assert decision.trace["rules"] == [
        {"rule_id": str(first.id), "rule": "first", "result": "matched"}
    ]
    assert "ticket" not in decision.trace  # the ticket's part is the caller's to write

    other_device = event(device=Device("srv-02", "SRV-02", "org-7"))
    again = decide_trigger(INTEGRATION, other_device, None, MAPPED, [], RuleBook([first]))
    assert again.ticket is not None
    assert again.ticket.dedup_key == f"{MAPPED}|srv-02|service-down"


def test_a_broken_rule_is_skipped_and_the_next_one_decides() -> None:
    broken = rule("broken", 0, RuleConditions(message_pattern="("))
    rest = rule("everything else", 1)
    decision = decide_trigger(INTEGRATION, event(), None, MAPPED, [], RuleBook([broken, rest]))

    assert decision.verdict is Verdict.TICKET
    assert decision.rule == rest
    tried = decision.trace["rules"]
    assert tried[0]["rule_id"] == str(broken.id)
    assert tried[0]["result"].startswith("skipped")
    assert tried[1]["result"] == "matched"
    assert decision.rules is not None
    assert [error is not None for _, _, error in decision.rules.tried] == [True, False]
