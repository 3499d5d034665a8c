"""The alert pipeline over in-memory fakes (tests/fakes/): what a trigger, a reset
and a rule dry run leave behind, without a database. Storage itself is tested on
both engines in tests/integration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest

from fleetward.domain.alerts import (
    AlertStatus,
    Device,
    EventKind,
    IngestResult,
    NormalizedEvent,
    Provider,
    Severity,
)
from fleetward.domain.integrations import Integration, OrgMapping
from fleetward.domain.maintenance import MaintenanceWindow, WeeklyRecurrence
from fleetward.domain.rules import AlertRule, RuleActions, RuleConditions
from fleetward.domain.tenancy import Client, Tenant
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.ingest_alerts import Outcome
from tests.fakes import FakeRepositories, FakeUnitOfWork, fixed_clock

NOW = datetime(2026, 7, 4, 12, tzinfo=UTC)
TENANT = uuid.uuid4()


class Setup:
    """A tenant with the client Contoso, mapped from organisation 7 of a generic integration."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()
        self.repos: FakeRepositories = self.uow.repos
        self.pipeline = AlertPipeline(self.uow, fixed_clock(NOW))
        self.repos.tenants.add(Tenant(TENANT, "MSP", NOW))
        self.client_id = uuid.uuid4()
        self.repos.clients.insert(Client(self.client_id, TENANT, "Contoso", "", NOW, NOW))
        self.integration = Integration(uuid.uuid4(), TENANT, Provider.GENERIC, "Uptime", True)
        self.repos.integrations.add(self.integration, "sealed")
        mapping = OrgMapping(uuid.uuid4(), TENANT, self.integration.id, "7", self.client_id, NOW)
        self.repos.org_mappings.insert(mapping)
        self.occurrences = 0

    def add_rule(
        self, name: str = "everything", conditions: RuleConditions | None = None
    ) -> AlertRule:
        position = self.repos.rules.next_position(TENANT)
        rule = AlertRule(
            uuid.uuid4(),
            TENANT,
            name,
            True,
            position,
            conditions or RuleConditions(),
            RuleActions(auto_resolve_ticket=True),
        )
        self.repos.rules.save(rule, NOW, created=True)
        return rule

    def add_window(self, window: MaintenanceWindow) -> None:
        self.repos.windows.save(window, NOW, created=True)

    def event(
        self,
        kind: EventKind = EventKind.TRIGGERED,
        series: str = "s1",
        device: str = "1042",
        org: str = "7",
        at: datetime = NOW,
    ) -> NormalizedEvent:
        self.occurrences += 1
        return NormalizedEvent(
            Provider.GENERIC,
            kind,
            f"occurrence-{self.occurrences}",
            series,
            Device(device, f"PC-{device}", org),
            Severity.MAJOR,
            "cpu-high",
            "CPU usage above 90% for 5 minutes",
            "CPU at 97%",
            at,
        )

    def send(self, event: NormalizedEvent) -> Outcome:
        (outcome,) = self.pipeline.ingest(self.integration, [event])
        return outcome

    def trace(self, outcome: Outcome) -> dict[str, object]:
        assert outcome.alert_id is not None
        return self.repos.alerts.rows[outcome.alert_id].trace


@pytest.fixture
def setup() -> Setup:
    return Setup()


def test_a_trigger_opens_a_ticket_a_second_occurrence_joins_it(setup: Setup) -> None:
    setup.add_rule()
    first = setup.send(setup.event(series="s1"))
    assert first.result is IngestResult.CREATED
    (opened,) = setup.repos.tickets.rows.values()
    assert (opened.number, opened.client_id) == (1, setup.client_id)
    assert opened.title == "PC-1042: CPU usage above 90% for 5 minutes"
    assert "opened #1" in str(setup.trace(first)["dedup"])

    second = setup.send(setup.event(series="s2"))
    assert second.result is IngestResult.CREATED
    (joined,) = setup.repos.tickets.rows.values()
    assert joined.occurrence_count == 2
    # After the opening comment (the alert's details, #15).
    assert [c.body for c in setup.repos.comments.rows.values()][1:] == [
        "Alert re-triggered: occurrence 2"
    ]

    setup.send(setup.event(series="s3", device="2000"))
    assert len(setup.repos.tickets.rows) == 2


def test_an_unmapped_organisation_is_recorded_only(setup: Setup) -> None:
    setup.add_rule()
    outcome = setup.send(setup.event(org="999"))
    assert outcome.result is IngestResult.RECORDED
    assert setup.repos.tickets.rows == {}
    assert setup.trace(outcome)["client"] == (
        "unresolved: no asset assignment, organisation mapping or default client"
    )


def test_a_broken_rule_is_skipped_and_the_next_one_decides(setup: Setup) -> None:
    """A rule stored before a check existed (an invalid pattern) must not stop alerts."""
    broken = setup.add_rule("broken", RuleConditions(message_pattern="("))
    setup.add_rule("everything else")

    outcome = setup.send(setup.event())
    assert outcome.result is IngestResult.CREATED
    tried = setup.trace(outcome)["rules"]
    assert isinstance(tried, list)
    assert tried[0]["rule_id"] == str(broken.id)
    assert tried[0]["result"].startswith("skipped")
    assert tried[1]["result"] == "matched"


def test_a_trigger_in_a_window_is_suppressed_and_its_reset_is_quiet(setup: Setup) -> None:
    setup.add_rule()
    one_hour = timedelta(hours=1)
    setup.add_window(
        MaintenanceWindow(
            uuid.uuid4(),
            TENANT,
            "patching",
            None,
            setup.client_id,
            None,
            NOW - one_hour,
            NOW + one_hour,
            None,
        )
    )
    suppressed = setup.send(setup.event(series="s1"))
    assert suppressed.result is IngestResult.SUPPRESSED
    assert setup.repos.tickets.rows == {}

    reset = setup.send(setup.event(EventKind.RESET, series="s1"))
    assert reset.result is IngestResult.RESOLVED
    assert suppressed.alert_id is not None
    assert setup.repos.alerts.rows[suppressed.alert_id].status is AlertStatus.RESOLVED
    assert setup.repos.tickets.rows == {}
    # Outside the window the same rule opens a ticket.
    later = setup.send(setup.event(series="s2", at=NOW + 2 * one_hour))
    assert later.result is IngestResult.CREATED
    assert len(setup.repos.tickets.rows) == 1


def test_a_window_for_another_client_does_not_suppress(setup: Setup) -> None:
    setup.add_rule()
    everyday = WeeklyRecurrence(frozenset(range(7)), time(0), time(23, 59), "Europe/Berlin")
    other_client = uuid.uuid4()
    setup.add_window(
        MaintenanceWindow(
            uuid.uuid4(), TENANT, "theirs", None, other_client, None, None, None, everyday
        )
    )
    outcome = setup.send(setup.event())
    assert outcome.result is IngestResult.CREATED
    assert len(setup.repos.tickets.rows) == 1


def test_a_dry_run_shows_the_window_that_suppresses_and_stores_nothing(setup: Setup) -> None:
    weekly = WeeklyRecurrence(frozenset({6, 0}), time(22), time(4), "Europe/Berlin")
    window = MaintenanceWindow(
        uuid.uuid4(), TENANT, "nightly", setup.integration.id, None, None, None, None, weekly
    )
    setup.add_window(window)
    saturday_night = setup.event(at=datetime(2026, 7, 4, 23, 30, tzinfo=UTC))

    result, trace = setup.pipeline.dry_run(setup.integration, saturday_night)

    assert result is IngestResult.SUPPRESSED
    assert trace["windows"] == [
        {
            "window_id": str(window.id),
            "window": "nightly",
            "result": "covers the alert time: suppressed",
        }
    ]
    assert setup.repos.alerts.rows == {}
    assert setup.repos.assets.rows == {}


def test_a_dry_run_words_the_decision_as_what_would_happen(setup: Setup) -> None:
    unresolved = setup.pipeline.dry_run(setup.integration, setup.event(org="999"))
    assert unresolved == (IngestResult.RECORDED, {"client_id": None, "client": "unresolved"})

    no_rule = setup.pipeline.dry_run(setup.integration, setup.event())
    assert no_rule[0] is IngestResult.RECORDED
    assert no_rule[1] == {"client_id": str(setup.client_id), "windows": [], "rules": []}

    setup.add_rule()
    would = setup.pipeline.dry_run(setup.integration, setup.event())
    assert would[0] is IngestResult.CREATED
    assert would[1]["ticket"] == "would open or re-trigger a ticket"
    assert setup.repos.alerts.rows == {}
    assert setup.repos.tickets.rows == {}
