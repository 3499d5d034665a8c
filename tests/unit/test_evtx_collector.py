"""The .evtx collector on real event logs, and watch rules on what it reads.

Expected figures come from the files: an independent walk of the .evtx
format with `struct` (file header, 64 KiB chunks, record headers) counts the
records, and the parser's XML output is a second opinion on the JSON it reads.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import struct
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import evtx
import pytest

from fleetward import evtx_reader
from fleetward.domain.alerts import Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import (
    DamagedRecord,
    EventRecord,
    MinLevel,
    WatchRule,
    dedup_key,
    matches,
    severity_rank,
)
from fleetward.evtx_reader import read_evtx
from tests.support.components import evtx_fixtures

FIXTURES = evtx_fixtures()
DAMAGED = "omerbenamram-evtx_sample-with-zero-data-size-event.evtx"
SELECTED = "omerbenamram-evtx_Security_short_selected.evtx"
CHUNK = 65536


def fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"the .evtx fixture {name}" + " is missing from tests/fixtures/evtx")
    return path


def manifest() -> dict[str, tuple[str, str]]:
    """file -> (records column, channel column) of the fixtures' MANIFEST.md."""
    rows = re.findall(r"^\| (\S+\.evtx) \|.*\| ([^|]+) \| ([^|]+) \|$", _manifest_text(), re.M)
    return {name: (records.strip(), channel.strip()) for name, records, channel in rows}


def _manifest_text() -> str:
    path = FIXTURES / "MANIFEST.md"
    if not path.is_file():
        pytest.fail("the .evtx fixtures' MANIFEST.md" + " is missing from tests/fixtures/evtx")
    return path.read_text()


FILES = sorted(manifest()) if (FIXTURES / "MANIFEST.md").is_file() else [DAMAGED]


@dataclass
class Chunk:
    last_id: int  # as the chunk header declares
    good: list[int]  # record ids walked, in order
    damaged_at: int | None  # offset of a record header that makes no sense


def walk(path: Path) -> list[Chunk]:
    """The .evtx layout read by hand: a 4 KiB file header, then 64 KiB chunks
    whose records each start with bytes 2a 2a 00 00, their size and their id."""
    data = path.read_bytes()
    assert data[:8] == b"ElfFile\x00"
    chunks = []
    for offset in range(4096, len(data) - CHUNK + 1, CHUNK):
        chunk = data[offset : offset + CHUNK]
        if chunk[:8] != b"ElfChnk\x00":
            continue
        (last_id,) = struct.unpack_from("<Q", chunk, 32)
        (free_space,) = struct.unpack_from("<I", chunk, 48)
        position, good, damaged_at = 512, [], None
        while position < free_space:
            magic, size, record_id = struct.unpack_from("<IIQ", chunk, position)
            if magic != 0x2A2A or size < 28 or position + size > CHUNK:
                damaged_at = position
                break
            good.append(record_id)
            position += size
        chunks.append(Chunk(last_id, good, damaged_at))
    return chunks


def split(
    items: list[EventRecord | DamagedRecord],
) -> tuple[list[EventRecord], list[DamagedRecord]]:
    return (
        [i for i in items if isinstance(i, EventRecord)],
        [i for i in items if isinstance(i, DamagedRecord)],
    )


@pytest.mark.parametrize("name", FILES)
def test_every_record_the_file_holds_is_read(name: str) -> None:
    records, damaged = split(list(read_evtx(fixture(name))))
    chunks = walk(fixture(name))
    walked = [i for c in chunks for i in c.good]
    assert len(records) == len(walked)
    assert len(damaged) == sum(c.damaged_at is not None for c in chunks)
    if name != SELECTED:
        assert [int(r.record_id) for r in records] == walked
    count, channel = manifest()[name]
    if count.isdigit():  # the MANIFEST as a sanity check of the walk itself
        assert len(records) == int(count)
    # plaso_System2.evtx holds a Security log "despite its name": the channel is the truth.
    assert {r.log_name for r in records} == {channel.split()[0]}


def test_a_damaged_record_is_reported_and_the_rest_kept() -> None:
    items = list(read_evtx(fixture(DAMAGED)))
    records, damaged = split(items)
    first = walk(fixture(DAMAGED))[0]
    assert first.damaged_at is not None
    # As the MANIFEST says: 2 good records, then a damaged one ...
    assert [type(i) for i in items[:3]] == [EventRecord, EventRecord, DamagedRecord]
    assert [r.record_id for r in records[:2]] == [str(i) for i in first.good]
    [bad] = damaged
    print(f"\n{DAMAGED}: {bad}")
    assert "data size" in bad.reason
    assert bad.position == 2
    # ... which takes the rest of its chunk (ids 3 to 117) with it; the
    # following chunks are still read.
    assert bad.previous_record_id == str(first.good[-1])
    assert bad.next_record_id == str(first.last_id + 1)
    assert len(records) > 300


class ScriptedRecords:
    """Stands in for the native iterator: it can raise and still go on, as
    `records_json()` does after a damaged chunk (a generator could not)."""

    def __init__(self, script: list[Any]) -> None:
        self.script = iter(script)

    def __iter__(self) -> ScriptedRecords:
        return self

    def __next__(self) -> Any:
        item = next(self.script)
        if isinstance(item, Exception):
            raise item
        return item


def test_parser_errors_and_broken_records_never_stop_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = fixture("python-evtx_system.evtx")
    real = list(itertools.islice(evtx.PyEvtxParser(str(path)).records_json(), 6))
    script = [
        real[0],
        RuntimeError("Failed to parse chunk header"),  # the parser's own error
        {**real[1], "data": "{not json"},  # a record the parser let through, unreadable
        {"timestamp": "?", "data": "{}"},  # no record id at all
        *real[2:],
    ]

    def scripted_parser(path: str, number_of_threads: int = 0) -> SimpleNamespace:
        return SimpleNamespace(records_json=lambda: ScriptedRecords(script))

    monkeypatch.setattr(evtx_reader, "PyEvtxParser", scripted_parser)
    records, damaged = split(list(read_evtx(path)))
    assert [r.record_id for r in records] == [
        str(r["event_record_id"]) for r in real[:1] + real[2:]
    ]
    assert [d.position for d in damaged] == [1, 2, 3]
    assert damaged[0].reason == "Failed to parse chunk header"
    assert damaged[1].record_id == str(real[1]["event_record_id"])
    assert damaged[2].reason == "record has no Event"
    assert damaged[2].next_record_id == records[1].record_id


def test_a_filtered_export_keeps_the_ids_windows_showed() -> None:
    # Saving a filtered log renumbers the record headers 1..n; the record id
    # is the original EventRecordID, the one Event Viewer and alerts name.
    records, _ = split(list(read_evtx(fixture(SELECTED))))
    headers = [i for c in walk(fixture(SELECTED)) for i in c.good]
    assert headers == list(range(1, len(records) + 1))
    assert all(int(r.record_id) > len(records) for r in records)
    assert len({r.record_id for r in records}) == len(records)


def test_not_an_evtx_file_is_an_error_not_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "System.evtx"
    path.write_bytes(b"not an event log")
    with pytest.raises(OSError):
        next(read_evtx(path))


def test_records_stream_one_at_a_time() -> None:
    first_three = list(itertools.islice(read_evtx(fixture("omerbenamram-evtx_system.evtx")), 3))
    assert len(first_three) == 3


def test_the_watermark_resumes_after_the_given_record() -> None:
    path = fixture("velocidex-evtx_Security.evtx")
    records, _ = split(list(read_evtx(path)))
    mark = int(records[len(records) // 2].record_id)
    resumed, _ = split(list(read_evtx(path, after_record_id=mark)))
    assert resumed == [r for r in records if int(r.record_id) > mark]
    assert resumed and all(int(r.record_id) > mark for r in resumed)
    last = max(int(r.record_id) for r in records)
    assert list(read_evtx(path, after_record_id=last)) == []


def test_damage_already_passed_is_not_reported_again() -> None:
    path = fixture(DAMAGED)
    first = walk(path)[0]
    _, damaged = split(list(read_evtx(path, after_record_id=first.good[-1])))
    assert len(damaged) == 1  # records 3..117 lie after the watermark: still news
    _, damaged = split(list(read_evtx(path, after_record_id=first.last_id + 1)))
    assert damaged == []  # both neighbours were collected on an earlier pass


def test_records_carry_what_the_timeline_and_rules_need() -> None:
    records, _ = split(list(read_evtx(fixture("velocidex-evtx_Security.evtx"))))
    logon = next(r for r in records if r.event_id == 4624)
    assert logon.provider == "Microsoft-Windows-Security-Auditing"
    assert logon.time_created.tzinfo is UTC
    assert logon.computer and logon.message == ""
    assert logon.keywords == 0x8020000000000000  # audit success
    assert all(isinstance(v, str) for r in records for v in r.data.values())


def test_unnamed_and_nested_values_are_flattened() -> None:
    records, _ = split(list(read_evtx(fixture(DAMAGED))))
    # Two unnamed <Data> values and an empty <Binary/>.
    assert list(records[0].data) == ["Data", "Data_1"]
    records, _ = split(list(read_evtx(fixture("omerbenamram-evtx_system.evtx"))))
    cleared = next(r for r in records if "SubjectUserName" in r.data)  # UserData/LogFileCleared
    assert cleared.data["Channel"] == "Microsoft-Windows-Sysmon/Operational"


NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"


@pytest.mark.filterwarnings("ignore:Skipping EVTX data:RuntimeWarning")  # the damaged record
@pytest.mark.parametrize("name", FILES)
def test_json_agrees_with_the_parsers_own_xml(name: str) -> None:
    ours = {r.record_id: r for r in split(list(read_evtx(fixture(name))))[0]}
    checked = 0
    for raw in evtx.PyEvtxParser(str(fixture(name)), skip_errors=True).records():
        root = ET.fromstring(raw["data"])  # noqa: S314
        system = root.find(NS + "System")
        assert system is not None
        record = ours[system.findtext(NS + "EventRecordID", "")]
        assert record.event_id == int(system.findtext(NS + "EventID", ""))
        provider = system.find(NS + "Provider")
        assert provider is not None and record.provider == provider.get("Name")
        for data in root.iterfind(f"{NS}EventData/{NS}Data[@Name]"):
            # XML parsing turns CR LF into LF; the JSON keeps the file's bytes.
            ours_value = record.data.get(data.get("Name", ""), "")
            assert ours_value.replace("\r\n", "\n").replace("\r", "\n") == (data.text or "")
            checked += 1
    assert checked > 0


# --- watch rules on real records -------------------------------------------


@pytest.fixture(scope="module")
def system_log() -> list[EventRecord]:
    return split(list(read_evtx(fixture("python-evtx_system.evtx"))))[0]


def rule(**fields: Any) -> WatchRule:
    return WatchRule(**{"id": uuid.uuid4(), "log_name": "System", **fields})


def test_an_empty_rule_watches_its_whole_log(system_log: list[EventRecord]) -> None:
    assert all(matches(rule(), r) for r in system_log)
    assert not any(matches(rule(log_name="Security"), r) for r in system_log)
    assert all(matches(rule(log_name="system"), r) for r in system_log)
    assert not any(matches(rule(enabled=False), r) for r in system_log)


def test_event_ids_and_providers(system_log: list[EventRecord]) -> None:
    power = rule(providers=("MICROSOFT-WINDOWS-KERNEL-POWER",), event_ids=frozenset({41}))
    hits = [r for r in system_log if matches(power, r)]
    expected = [
        r for r in system_log if r.provider == "Microsoft-Windows-Kernel-Power" and r.event_id == 41
    ]
    assert hits == expected and hits


def test_minimum_level_is_a_severity_threshold(system_log: list[EventRecord]) -> None:
    for threshold, levels in [
        (MinLevel.CRITICAL, {1}),
        (MinLevel.ERROR, {1, 2}),
        (MinLevel.WARNING, {1, 2, 3}),
        (MinLevel.INFORMATION, {0, 1, 2, 3, 4}),
    ]:
        hits = [r for r in system_log if matches(rule(min_level=threshold), r)]
        assert hits == [r for r in system_log if r.level in levels], threshold
    assert [severity_rank(n) for n in (0, 1, 3, 5, 16)] == [4, 1, 3, 5, 5]
    # Audit events carry level 0 (LogAlways): information, not above critical.
    audit, _ = split(list(read_evtx(fixture("velocidex-evtx_Security.evtx"))))
    assert {r.level for r in audit if r.event_id == 4624} == {0}
    security = rule(log_name="Security", event_ids=frozenset({4624}))
    for threshold, expected in [(MinLevel.WARNING, False), (MinLevel.INFORMATION, True)]:
        assert {
            matches(dataclasses.replace(security, min_level=threshold), r)
            for r in audit
            if r.event_id == 4624
        } == {expected}
    assert any(r.level == 3 for r in system_log) and any(r.level == 1 for r in system_log)


def test_keywords_search_event_data_case_insensitively() -> None:
    records, _ = split(list(read_evtx(fixture("omerbenamram-evtx_system.evtx"))))
    sysmon = rule(keywords=("nothing-like-this", "SYSMON/operational"))
    hits = [r for r in records if matches(sysmon, r)]
    assert hits and all("Sysmon/Operational" in " ".join(r.data.values()) for r in hits)
    assert hits == [
        r for r in records if any("sysmon/operational" in v.lower() for v in r.data.values())
    ]


def test_rules_refuse_nonsense_and_alerts_dedup_per_record(system_log: list[EventRecord]) -> None:
    with pytest.raises(InvalidInput):
        rule(log_name=" ")
    with pytest.raises(InvalidInput):
        rule(event_ids=frozenset({70000}))
    with pytest.raises(InvalidInput):
        rule(keywords=("",))
    watch = rule(alert_severity=Severity.CRITICAL)
    agent = uuid.uuid4()
    record = system_log[0]
    assert dedup_key(agent, watch.id, record) == f"evtlog:{agent}:{watch.id}:{record.record_id}"
