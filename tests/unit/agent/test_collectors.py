"""The collectors on real and recorded input: .evtx fixtures, journal JSON, Get-WinEvent XML.

Expected figures come from the fixture files through the domain (read_evtx,
classify, classify_journal), never from memory.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fleetward.agent.collectors.base import Damage, Failure, Read, Step
from fleetward.agent.collectors.evtx_folder import EvtxFolderCollector
from fleetward.agent.collectors.journald import JournaldCollector, journal_record
from fleetward.agent.collectors.winevent import (
    WinEventCollector,
    parse_events,
    record_from_xml,
    split_events,
)
from fleetward.domain.agent_config import EventLogQuery
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import DamagedRecord, EventRecord, Level, MinLevel
from fleetward.domain.timeline import classify, classify_journal
from fleetward.evtx_reader import read_evtx
from tests.support.agent_winevent import to_xml_lines
from tests.support.components import evtx_fixtures

FIXTURES = evtx_fixtures()
JOURNALS = Path(__file__).resolve().parents[2] / "fixtures" / "journald"
SUPPORT = Path(__file__).resolve().parents[2] / "support"
DAMAGED = "omerbenamram-evtx_sample-with-zero-data-size-event.evtx"
SYSTEM = "omerbenamram-evtx_system.evtx"


def fixture_files() -> list[Path]:
    files = sorted(FIXTURES.glob("*.evtx"))
    if not files:
        pytest.fail("the .evtx fixtures" + " is missing from tests/fixtures/evtx")
    return files


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "logs"
    target.mkdir()
    for path in fixture_files():
        shutil.copy(path, target / path.name)
    return target


def reads(steps: list[Step]) -> list[Read]:
    return [e for s in steps for e in s.entries if isinstance(e, Read)]


def damages(steps: list[Step]) -> list[Damage]:
    return [e for s in steps for e in s.entries if isinstance(e, Damage)]


# --- .evtx folder ------------------------------------------------------------


def test_evtx_folder_reads_every_record_of_every_file_once(folder: Path) -> None:
    collector = EvtxFolderCollector(folder, step_size=250)
    steps = list(collector.poll(None))
    expected = [r for p in fixture_files() for r in read_evtx(p) if isinstance(r, EventRecord)]
    got = [r.record for r in reads(steps)]
    assert got == expected
    assert all(len(s.entries) <= 250 for s in steps)
    observed = [r.observation for r in reads(steps) if r.observation is not None]
    assert observed == [o for r in expected if (o := classify(r)) is not None]
    # The damaged record is reported, named, and the file's good records kept.
    (damage,) = damages(steps)
    assert damage.where == DAMAGED
    assert isinstance(damage.damage, DamagedRecord)
    marks = json.loads(steps[-1].watermark)
    assert set(marks) == {p.name for p in fixture_files()}
    system_ids = [r.record_id for r in read_evtx(folder / SYSTEM) if isinstance(r, EventRecord)]
    assert marks[SYSTEM] == max(system_ids, key=int)


def test_evtx_folder_resumes_from_any_step_without_repeats_or_gaps(folder: Path) -> None:
    everything = reads(list(EvtxFolderCollector(folder, step_size=300).poll(None)))
    for cut in (1, 4, 9):
        first = list(EvtxFolderCollector(folder, step_size=300).poll(None))[:cut]
        # A fresh collector, as after a restart: only the watermark carries over.
        rest = list(EvtxFolderCollector(folder, step_size=300).poll(first[-1].watermark))
        assert [r.record for r in reads(first) + reads(rest)] == [r.record for r in everything]
        assert len(damages(first) + damages(rest)) == 1


def test_evtx_folder_reports_nothing_new_once_read(folder: Path) -> None:
    steps = list(EvtxFolderCollector(folder).poll(None))
    again = list(EvtxFolderCollector(folder).poll(steps[-1].watermark))
    assert reads(again) == [] and damages(again) == []
    same = EvtxFolderCollector(folder)
    first = list(same.poll(None))
    assert list(same.poll(first[-1].watermark)) == []


def test_evtx_folder_picks_up_a_new_file_and_survives_a_bad_one(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(FIXTURES / DAMAGED, folder / DAMAGED)
    collector = EvtxFolderCollector(folder)
    first = list(collector.poll(None))
    (folder / "notes.evtx").write_bytes(b"not an event log at all")
    shutil.copy(FIXTURES / SYSTEM, folder / SYSTEM)
    second = list(collector.poll(first[-1].watermark))
    failures = [e for s in second for e in s.entries if isinstance(e, Failure)]
    assert [f.where for f in failures] == ["notes.evtx"]
    assert len(reads(second)) == len(
        [r for r in read_evtx(FIXTURES / SYSTEM) if isinstance(r, EventRecord)]
    )
    assert {r.record.log_name for r in reads(second) if r.record} == {"System"}


def test_evtx_folder_query_is_newest_first_filtered_and_limited(folder: Path) -> None:
    query = EventLogQuery.from_args({"log": "system", "level": "error", "limit": 7})
    found = EvtxFolderCollector(folder).query(query)
    every = [
        r
        for p in fixture_files()
        for r in read_evtx(p)
        if isinstance(r, EventRecord) and r.log_name == "System" and r.level in (1, 2)
    ]
    assert len(every) > 7
    assert (
        found == sorted(every, key=lambda r: (r.time_created, int(r.record_id)), reverse=True)[:7]
    )
    assert EvtxFolderCollector(folder).query(EventLogQuery.from_args({"log": "Application"})) == []


def test_query_arguments_are_checked() -> None:
    with pytest.raises(InvalidInput) as missing_log:
        EventLogQuery.from_args({"limit": 5})
    assert missing_log.value.field == "log"
    with pytest.raises(InvalidInput) as too_many:
        EventLogQuery.from_args({"log": "System", "limit": 501})
    assert too_many.value.field == "limit"
    with pytest.raises(InvalidInput):
        EventLogQuery.from_args({"log": "System", "level": "loud"})
    q = EventLogQuery.from_args(
        {"log": "System", "since": "2025-03-01T08:00:00Z", "source": "Disk"}
    )
    assert q.since == datetime(2025, 3, 1, 8, tzinfo=UTC)


# --- journald ------------------------------------------------------------------


def journal(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (JOURNALS / name).read_text().splitlines()]


def fake_journalctl(name: str) -> list[str]:
    return [sys.executable, str(SUPPORT / "agent_journalctl.py"), str(JOURNALS / name)]


LAPTOP = "laptop-boot-session-suspend.json"
SERVER = "server-cron-and-errors.json"


def test_journald_reads_entries_and_their_timeline_moments() -> None:
    collector = JournaldCollector(fake_journalctl(LAPTOP), step_size=4)
    steps = list(collector.poll(None))
    entries = journal(LAPTOP)
    assert [len(s.entries) for s in steps] == [4, 4, 1]
    assert [r.record.record_id for r in reads(steps) if r.record] == [
        e["__CURSOR"] for e in entries
    ]
    assert [r.observation for r in reads(steps)] == [classify_journal(e) for e in entries]
    assert steps[-1].watermark == entries[-1]["__CURSOR"]


def test_journald_resumes_after_the_cursor() -> None:
    collector = JournaldCollector(fake_journalctl(LAPTOP), step_size=4)
    first = next(iter(collector.poll(None)))
    rest = list(collector.poll(first.watermark))
    cursors = [r.record.record_id for r in reads([first, *rest]) if r.record]
    assert cursors == [e["__CURSOR"] for e in journal(LAPTOP)]
    assert list(collector.poll(str(journal(LAPTOP)[-1]["__CURSOR"]))) == []


def test_journald_failure_is_raised_for_the_runner_to_report() -> None:
    collector = JournaldCollector(fake_journalctl(LAPTOP))
    with pytest.raises(OSError, match="Failed to seek to cursor"):
        list(collector.poll("s=gone;i=1"))


def test_journal_entries_become_records_for_rules_and_the_viewer() -> None:
    smartd, nginx = journal(SERVER)[3], journal(SERVER)[4]
    record = journal_record(smartd)
    assert record.log_name == "smartmontools.service"
    assert record.provider == "smartd"
    assert record.level == Level.CRITICAL
    assert record.message == "Device: /dev/sda [SAT], 8 Currently unreadable (pending) sectors"
    assert record.time_created == datetime.fromtimestamp(
        int(str(smartd["__REALTIME_TIMESTAMP"])) / 1e6, UTC
    )
    assert journal_record(nginx).message == "upstream \ufffd\ufffd timed out"  # bytes, not UTF-8
    assert journal_record(nginx).level == Level.WARNING


def test_journald_query_filters_and_orders_newest_first() -> None:
    collector = JournaldCollector(fake_journalctl(SERVER))
    errors = collector.query(EventLogQuery.from_args({"log": "journal", "level": "error"}))
    assert [r.provider for r in errors] == ["smartd"]
    laptop = JournaldCollector(fake_journalctl(LAPTOP))
    logind = laptop.query(EventLogQuery.from_args({"log": "systemd-logind.service", "limit": 2}))
    assert [r.message for r in logind] == ["System is powering down.", "Removed session 2."]
    by_source = laptop.query(EventLogQuery.from_args({"log": "journal", "source": "SSHD"}))
    assert [r.level for r in by_source] == [Level.ERROR]


# --- Get-WinEvent XML ------------------------------------------------------------


def folded(record: EventRecord) -> EventRecord:
    """XML reading folds CR LF to LF in text (the XML spec's end-of-line handling)."""
    return dataclasses.replace(
        record, data={k: v.replace("\r\n", "\n") for k, v in record.data.items()}
    )


@pytest.mark.parametrize("name", [p.name for p in sorted(FIXTURES.glob("*.evtx"))] or ["none"])
def test_winevent_xml_gives_the_same_records_as_the_evtx_json(name: str) -> None:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail("the .evtx fixtures" + " is missing from tests/fixtures/evtx")
    from_json = [folded(r) for r in read_evtx(path) if isinstance(r, EventRecord)]
    from_xml = list(parse_events(to_xml_lines(path)))
    assert len(from_xml) == len(from_json) > 0
    assert from_xml == from_json
    assert [classify(r) for r in from_xml] == [classify(r) for r in from_json]


def test_winevent_output_split_into_events_however_printed() -> None:
    one = next(to_xml_lines(FIXTURES / SYSTEM))
    indented = one.replace("</System>", "</System>\r\n  ").replace("<System>", "<System>\r\n")
    docs = list(split_events(["\n", one, indented, "\r\n", one]))
    assert len(docs) == 3
    assert record_from_xml(docs[0]) == record_from_xml(docs[1])


def test_winevent_reads_seven_digit_windows_times_and_refuses_doctypes() -> None:
    line = next(to_xml_lines(FIXTURES / SYSTEM))
    longer = line.replace(
        'SystemTime="2017-07-12T17:16:28.214161Z"', 'SystemTime="2017-07-12T17:16:28.2141617Z"'
    )
    assert record_from_xml(longer).time_created.microsecond == 214161
    bomb = '<!DOCTYPE e [<!ENTITY a "aaaa">]>' + line
    with pytest.raises(ValueError, match="document type"):
        record_from_xml(bomb)
    assert list(parse_events([bomb, line])) == [record_from_xml(line)]


def fake_powershell(fixture: Path) -> list[str]:
    return [sys.executable, str(SUPPORT / "agent_powershell.py"), str(fixture)]


def test_winevent_poll_resumes_from_the_record_id(tmp_path: Path) -> None:
    collector = WinEventCollector("System", fake_powershell(FIXTURES / SYSTEM), step_size=500)
    steps = list(collector.poll(None))
    expected = [folded(r) for r in read_evtx(FIXTURES / SYSTEM) if isinstance(r, EventRecord)]
    assert [r.record for r in reads(steps)] == expected
    middle = steps[1].watermark
    rest = list(collector.poll(middle))
    assert [r.record for r in reads(rest)] == [
        r for r in expected if int(r.record_id) > int(middle)
    ]
    assert list(collector.poll(steps[-1].watermark)) == []


def test_winevent_query_answers_its_own_log_only() -> None:
    collector = WinEventCollector("System", fake_powershell(FIXTURES / SYSTEM))
    found = collector.query(
        EventLogQuery.from_args({"log": "System", "level": "warning", "limit": 3})
    )
    assert len(found) == 3
    assert all(r.level in (1, 2, 3) for r in found)
    assert found == sorted(found, key=lambda r: r.time_created, reverse=True)
    assert collector.query(EventLogQuery.from_args({"log": "Security"})) == []
    assert MinLevel.WARNING  # the level names the protocol uses
