"""The rules decide what is read: on Windows the agent reads every log its rules or the
timeline need, and a query of a log it does not read says what it does read."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fleetward.agent.collectors.evtx_folder import EvtxFolderCollector
from fleetward.agent.collectors.winevent import WinEventCollector
from fleetward.agent.runner import AgentOptions, LogNotCollected, Runner
from fleetward.domain.agent_config import EventLogQuery
from tests.support import agent_powershell_logs
from tests.support.components import evtx_fixtures


def windows_runner(tmp_path: Path, **options: object) -> Runner:
    opts = AgentOptions(
        server="http://127.0.0.1:9", state_dir=tmp_path / "state", windows_logs=True, **options
    )
    return Runner(opts)


def read_logs(runner: Runner) -> list[str]:
    return [c.log_name for c in runner.active() if isinstance(c, WinEventCollector)]


def test_on_windows_the_timeline_logs_and_every_rules_log_are_read(tmp_path: Path) -> None:
    r = windows_runner(tmp_path, winevent_logs=("Application",))
    assert read_logs(r) == ["Application", "System", "Security"]
    r.rules.replace(
        {
            "watches": [
                {"id": "a", "log_name": "Microsoft-Windows-Sysmon/Operational"},
                {"id": "b", "log_name": "security"},  # read already, whatever its case
                {"id": "c", "log_name": "sshd.service"},  # a Linux rule of the same tenant
            ]
        }
    )
    logs = read_logs(r)
    assert logs == ["Application", "System", "Security", "Microsoft-Windows-Sysmon/Operational"]
    assert r.sources() == logs
    # A rule gone: its log is not read any more (its watermark stays for a comeback).
    r.rules.replace({"watches": []})
    assert read_logs(r) == ["Application", "System", "Security"]


def test_without_windows_only_the_sources_given_are_read(tmp_path: Path) -> None:
    opts = AgentOptions(server="http://127.0.0.1:9", state_dir=tmp_path / "s", windows_logs=False)
    r = Runner(opts)
    r.rules.replace({"watches": [{"id": "a", "log_name": "Security"}]})
    assert read_logs(r) == []


def test_a_query_of_a_log_the_agent_does_not_read_names_what_it_reads(tmp_path: Path) -> None:
    folder = tmp_path / "evtx"
    folder.mkdir()
    for name in ("velocidex-evtx_Security.evtx", "python-evtx_system.evtx"):
        (folder / name).write_bytes((evtx_fixtures() / name).read_bytes())
    opts = AgentOptions(server="http://127.0.0.1:9", state_dir=tmp_path / "s", evtx_dirs=(folder,))
    r = Runner(opts)
    assert r.sources() == ["Security", "System"]
    with pytest.raises(LogNotCollected) as refused:
        r.query(EventLogQuery.from_args({"log": "journal"}))
    assert (
        refused.value.message == "this agent does not collect journal; it reads: Security, System"
    )
    assert refused.value.field == "log"
    found = r.query(EventLogQuery.from_args({"log": "security", "event_id": 4625, "limit": 5}))
    assert found and {x.event_id for x in found} == {4625}
    assert isinstance(r.collectors[0], EvtxFolderCollector)


def test_on_windows_a_channel_not_collected_is_asked_for_once_and_a_missing_one_says_why(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    name = "omerbenamram-evtx_Security_short_selected.evtx"
    (logs / name).write_bytes((evtx_fixtures() / name).read_bytes())
    fake = (sys.executable, str(Path(agent_powershell_logs.__file__)), str(logs))
    r = windows_runner(tmp_path, powershell=fake)
    r.rules.replace({"watches": []})
    # No rule names Security: the timeline's need is enough for it to be read.
    found = r.query(EventLogQuery.from_args({"log": "Security"}))
    assert found and {x.log_name for x in found} == {"Security"}
    # A channel nothing reads is asked of Get-WinEvent once; this machine has none such.
    with pytest.raises(LogNotCollected) as refused:
        r.query(EventLogQuery.from_args({"log": "Application"}))
    assert (logs / "asked.txt").read_text().split() == ["Security", "Application"]
    message = refused.value.message
    assert message.startswith("this agent does not collect Application; it reads: System, Security")
    assert "There is not an event log" in message
