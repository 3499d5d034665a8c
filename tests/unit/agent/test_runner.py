"""The runner's own work, with hand-written collectors: what each read becomes in the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fleetward.agent.collectors.base import Damage, Failure, Read, Step
from fleetward.agent.outbox import ItemKind
from fleetward.agent.runner import AgentOptions, EnrolmentRefused, Runner
from fleetward.domain.agent_config import EventLogQuery
from fleetward.domain.eventlog import DamagedRecord, EventRecord
from fleetward.domain.timeline import classify

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
BOOT = EventRecord("System", "Microsoft-Windows-Kernel-General", 12, 4, "41", T0)
DISK = EventRecord("System", "disk", 7, 2, "42", T0, data={"DeviceName": "\\Device\\Harddisk0"})
RULE = {"id": "r-disk", "log_name": "System", "providers": ["Disk"], "min_level": "error"}


class ScriptedCollector:
    def __init__(self, name: str, steps: list[Step], fail: Exception | None = None) -> None:
        self.name = name
        self.steps = steps
        self.fail = fail
        self.polled_with: list[str | None] = []

    @property
    def source(self) -> str:
        return self.name

    def poll(self, watermark: str | None) -> Iterator[Step]:
        self.polled_with.append(watermark)
        if self.fail is not None:
            raise self.fail
        yield from self.steps
        self.steps = []

    def query(self, query: EventLogQuery) -> list[EventRecord]:
        return [r for r in (BOOT, DISK) if r.log_name == query.log and query.accepts(r)]

    def logs(self) -> list[str]:
        return sorted({BOOT.log_name, DISK.log_name})

    def holds(self, log_name: str) -> bool:
        return log_name in self.logs()


def runner(tmp_path: Path, *collectors: ScriptedCollector, **options: Any) -> Runner:
    opts = AgentOptions(server="http://127.0.0.1:9", state_dir=tmp_path / "state", **options)
    return Runner(opts, collectors=list(collectors))


def bodies(r: Runner, kind: ItemKind) -> list[dict[str, Any]]:
    return [json.loads(s.body) for s in r.outbox.batch(kind, 1000)]


def test_reads_become_timeline_events_and_matches_with_their_watermark(tmp_path: Path) -> None:
    damage = DamagedRecord(3, "bad chunk", previous_record_id="42")
    steps = [
        Step([Read(BOOT, classify(BOOT)), Read(DISK, classify(DISK))], "42"),
        Step([Damage("System.evtx", damage), Failure("x.evtx", "cannot read x.evtx", "k1")], "43"),
    ]
    collector = ScriptedCollector("winevent:System", steps)
    r = runner(tmp_path, collector)
    r.rules.replace({"watches": [RULE]})
    r.collect()
    events = bodies(r, ItemKind.EVENT)
    assert [e["kind"] for e in events] == ["boot", "diagnostic", "diagnostic"]
    assert events[0] == {
        "at": "2025-03-01T08:00:00Z",
        "kind": "boot",
        "source": "winlog:System",
        "event_record_id": "41",
        "payload": {"provider": BOOT.provider, "event_id": 12, "data": {}},
    }
    assert [e["payload"]["code"] for e in events[1:]] == ["damaged_record", "collector_error"]
    assert events[1]["payload"]["file"] == "System.evtx"
    assert events[1]["payload"]["previous_record_id"] == "42"
    (match,) = bodies(r, ItemKind.MATCH)
    assert match["rule_id"] == "r-disk"
    assert match["record"]["record_id"] == "42"
    assert match["record"]["data"] == {"DeviceName": "\\Device\\Harddisk0"}
    assert r.outbox.watermark("winevent:System") == "43"
    r.collect()
    assert collector.polled_with == [None, "43"]


def test_a_failing_collector_is_reported_once_and_the_others_go_on(tmp_path: Path) -> None:
    broken = ScriptedCollector("journald", [], fail=OSError("journalctl: not found"))
    fine = ScriptedCollector("winevent:System", [Step([Read(BOOT, classify(BOOT))], "41")])
    r = runner(tmp_path, broken, fine)
    r.collect()
    r.collect()
    events = bodies(r, ItemKind.EVENT)
    errors = [e for e in events if e["kind"] == "diagnostic"]
    assert len(errors) == 1
    assert errors[0]["payload"]["code"] == "collector_error"
    assert "journalctl: not found" in errors[0]["payload"]["message"]
    assert [e["kind"] for e in events if e["kind"] != "diagnostic"] == ["boot"]


def test_each_start_is_recorded_and_a_new_version_as_an_update(tmp_path: Path) -> None:
    first = runner(tmp_path, agent_version="0.1.0", hostname="WS-01", os_name="Linux 6.1")
    first.record_start()
    first.outbox.close()
    again = runner(tmp_path, agent_version="0.1.0", hostname="WS-01", os_name="Linux 6.1")
    again.record_start()
    again.outbox.close()
    upgraded = runner(tmp_path, agent_version="0.2.0", hostname="WS-01", os_name="Linux 6.1")
    upgraded.record_start()
    events = bodies(upgraded, ItemKind.EVENT)
    started = [e for e in events if e["kind"] == "agent_started"]
    assert len(started) == 3
    assert len({e["event_record_id"] for e in started}) == 3
    assert {e["source"] for e in started} == {"agent:startup"}
    assert started[-1]["payload"] == {
        "agent_version": "0.2.0",
        "hostname": "WS-01",
        "os": "Linux 6.1",
    }
    (update,) = [e for e in events if e["kind"] == "agent_self_update"]
    assert update["source"] == "agent:update"
    assert update["payload"] == {"from": "0.1.0", "to": "0.2.0"}


def test_an_enrolled_agent_never_enrols_again(tmp_path: Path) -> None:
    r = runner(tmp_path, token="fwe_would_be_refused")
    r.outbox.set(agent_id="a-1", agent_key="fwa_k")
    assert r.credentials() == ("a-1", "fwa_k")  # the server (port 9) is never asked


def test_without_credentials_or_token_it_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(EnrolmentRefused, match="--token"):
        runner(tmp_path).credentials()


def test_the_viewer_merges_collectors_newest_first(tmp_path: Path) -> None:
    r = runner(tmp_path, ScriptedCollector("a", []), ScriptedCollector("b", []))
    found = r.query(EventLogQuery.from_args({"log": "System", "level": "error"}))
    assert found == [DISK, DISK]


def test_the_state_directory_is_private(tmp_path: Path) -> None:
    r = runner(tmp_path)
    assert (tmp_path / "state").stat().st_mode & 0o077 == 0
    assert r.outbox.path.stat().st_mode & 0o077 == 0


def test_a_journal_wide_rule_matches_any_unit_and_says_so_in_the_record(tmp_path: Path) -> None:
    sshd = EventRecord("ssh.service", "sshd", 0, 2, "s=1;i=9", T0, message="error: kex reset")
    collector = ScriptedCollector("journald", [Step([Read(sshd, None, ("journal",))], "s=1;i=9")])
    r = runner(tmp_path, collector)
    r.rules.replace(
        {
            "watches": [
                {"id": "r-all", "log_name": "journal", "keywords": ["kex"]},
                {"id": "r-ssh", "log_name": "ssh.service", "min_level": "error"},
                {"id": "r-web", "log_name": "nginx.service"},
            ]
        }
    )
    r.collect()
    found = {m["rule_id"]: m["record"]["log_name"] for m in bodies(r, ItemKind.MATCH)}
    # Sent under the log the rule names, so the server's re-check of the match agrees.
    assert found == {"r-all": "journal", "r-ssh": "ssh.service"}
