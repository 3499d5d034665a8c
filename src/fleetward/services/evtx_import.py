"""Archived .evtx files into one agent's timeline and alerts, as if the agent had sent them.

The same path as the agent's: records are classified by the domain and stored
through TimelineService.intake (its validation and its (pc_id, source,
event_record_id) dedup), and matches of the agent's watch rules go through
EventLogAlertService.submit (the server's re-check, the pipeline, its dedup).
So importing a file twice adds nothing the second time, and a file the agent
already shipped adds nothing either.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetward.domain.agents import Agent
from fleetward.domain.alerts import IngestResult
from fleetward.domain.errors import NotFound
from fleetward.domain.eventlog import DamagedRecord, EventRecord, WatchRule, matches
from fleetward.domain.timeline import classify
from fleetward.services.eventlog_alerts import EventLogAlertService, MatchIntake
from fleetward.services.ports import UnitOfWork
from fleetward.services.timeline import MAX_BATCH, TimelineService

# Reads one file's records in order; raises OSError when it is no .evtx file.
EvtxReader = Callable[[Path], Iterator[EventRecord | DamagedRecord]]
# Told how many more records (good or damaged) have been read.
Progress = Callable[[int], None]

BATCH_RECORDS = 2_000
PROGRESS_EVERY = 200


@dataclass
class FileReport:
    path: Path
    good: int = 0
    damaged: list[DamagedRecord] = field(default_factory=list)
    timeline_added: int = 0
    timeline_duplicates: int = 0
    matches: int = 0  # watch-rule matches found in the file
    alerts_created: int = 0  # new alerts (with or without a ticket, suppressed included)
    alert_duplicates: int = 0
    tickets: int = 0  # alerts that opened or re-triggered a ticket
    suppressed: int = 0
    ignored: int = 0

    def add(self, intake: MatchIntake) -> None:
        self.alerts_created += intake.accepted
        self.alert_duplicates += intake.duplicates
        self.ignored += intake.ignored
        self.tickets += intake.count(IngestResult.CREATED)
        self.suppressed += intake.count(IngestResult.SUPPRESSED)


class EvtxImportService:
    def __init__(
        self,
        uow: UnitOfWork,
        timeline: TimelineService,
        alerts: EventLogAlertService,
        reader: EvtxReader,
        batch_records: int = BATCH_RECORDS,
    ) -> None:
        self.uow = uow
        self.timeline = timeline
        self.alerts = alerts
        self.reader = reader
        self.batch_records = min(batch_records, MAX_BATCH)

    def agent(self, agent_id: uuid.UUID) -> Agent:
        """Any tenant's agent: the command line runs as the operator of the installation."""
        with self.uow.read() as repos:
            tenant_id = repos.agents.owner_of(agent_id)
            found: Agent | None = (
                None if tenant_id is None else repos.agents.get(tenant_id, agent_id)
            )
        if found is None:
            raise NotFound(f"no agent has the id {agent_id}", field="agent")
        return found

    def import_file(self, agent: Agent, path: Path, progress: Progress | None = None) -> FileReport:
        """Everything in one file, batch by batch; a damaged record is noted and skipped."""
        with self.uow.read() as repos:
            rules = [(watch.id, watch.rule) for watch in repos.watches.for_agent(agent)]
        report = FileReport(path)
        events: list[dict[str, Any]] = []
        found: list[tuple[uuid.UUID, EventRecord]] = []
        unreported = 0
        for read, item in enumerate(self.reader(path), start=1):
            unreported += 1
            if isinstance(item, DamagedRecord):
                report.damaged.append(item)
            else:
                report.good += 1
                observation = classify(item)
                if observation is not None:
                    events.append(observation.document())
                found.extend(_matches(rules, item))
            if read % self.batch_records == 0:
                self._flush(agent, events, found, report)
            if progress is not None and unreported >= PROGRESS_EVERY:
                progress(unreported)
                unreported = 0
        self._flush(agent, events, found, report)
        if progress is not None and unreported:
            progress(unreported)
        return report

    def _flush(
        self,
        agent: Agent,
        events: list[dict[str, Any]],
        found: list[tuple[uuid.UUID, EventRecord]],
        report: FileReport,
    ) -> None:
        if events:
            stored = self.timeline.intake(agent, {"events": events})
            report.timeline_added += stored.accepted
            report.timeline_duplicates += stored.duplicates
        report.matches += len(found)
        for start in range(0, len(found), MAX_BATCH):
            report.add(self.alerts.submit(agent, found[start : start + MAX_BATCH]))
        events.clear()
        found.clear()


def _matches(
    rules: list[tuple[uuid.UUID, WatchRule]], record: EventRecord
) -> Iterator[tuple[uuid.UUID, EventRecord]]:
    for rule_id, rule in rules:
        if matches(rule, record):
            yield rule_id, record
