"""Linux journald, read with `journalctl -o json` and resumed from the last entry's cursor.

journalctl streams one JSON object a line; the agent reads it line by line,
so a long journal never sits in memory. The command is injectable: tests run a
script that prints recorded journal JSON the way journalctl does.

Each entry becomes an EventRecord too, so watch rules and the on-demand viewer
work on Linux: the log is the entry's systemd unit (or `journal`), the
provider its SYSLOG_IDENTIFIER, the level its syslog PRIORITY, the record id
its cursor. A rule whose log is `journal` watches every entry.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Generator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from fleetward.agent.collectors.base import STEP_SIZE, Entry, Read, Step, newest, program_output
from fleetward.domain.agent_config import EventLogQuery
from fleetward.domain.eventlog import JOURNAL, EventRecord, Level, is_journal_log
from fleetward.domain.timeline import classify_journal

log = logging.getLogger("fleetward.agent.journald")

ALL = JOURNAL  # the log name that means the whole journal
# syslog priorities 0 emerg .. 7 debug, on the Windows levels watch rules use.
PRIORITY_LEVELS = {
    0: Level.CRITICAL,
    1: Level.CRITICAL,
    2: Level.CRITICAL,
    3: Level.ERROR,
    4: Level.WARNING,
    5: Level.INFORMATION,
    6: Level.INFORMATION,
    7: Level.VERBOSE,
}
# The highest syslog priority each minimum level admits, for `journalctl -p`.
LEVEL_PRIORITIES = {"critical": 2, "error": 3, "warning": 4, "information": 6, "verbose": 7}
# Fields kept as the record's data: what a person filters or reads on.
DATA_FIELDS = (
    "_SYSTEMD_UNIT",
    "SYSLOG_IDENTIFIER",
    "_PID",
    "_UID",
    "_COMM",
    "_EXE",
    "_BOOT_ID",
    "MESSAGE_ID",
    "PRIORITY",
)


class JournaldCollector:
    def __init__(self, command: Sequence[str] = ("journalctl",), step_size: int = STEP_SIZE):
        self.command = list(command)
        self.step_size = step_size

    @property
    def source(self) -> str:
        return "journald"

    def logs(self) -> list[str]:
        return [ALL]

    def holds(self, log_name: str) -> bool:
        """The whole journal, and any unit in it."""
        return is_journal_log(log_name)

    def poll(self, watermark: str | None) -> Iterator[Step]:
        args = ["-o", "json", "--no-pager"]
        if watermark:
            args.append(f"--after-cursor={watermark}")
        entries: list[Entry] = []
        cursor = watermark
        for entry in self._run(args):
            entry_cursor = _text(entry.get("__CURSOR"))
            if entry_cursor is None:
                continue  # cannot be resumed from or told apart
            entries.append(Read(journal_record(entry), classify_journal(entry), (ALL,)))
            cursor = entry_cursor
            if len(entries) >= self.step_size:
                yield Step(entries, cursor)
                entries = []
        if entries and cursor is not None:
            yield Step(entries, cursor)

    def query(self, query: EventLogQuery) -> list[EventRecord]:
        if query.event_id not in (None, 0):
            return []  # journal entries have no event ids
        # Newest first (-r) and streamed: the first `limit` entries that pass the
        # filters journalctl cannot apply (the source, compared case-insensitively)
        # are the answer, and journalctl is stopped there.
        args = ["-o", "json", "--no-pager", "-r"]
        if query.log.casefold() != ALL:
            args += ["-u", query.log]
        if query.level is not None:
            args += ["-p", str(LEVEL_PRIORITIES[query.level.value])]
        if query.since is not None:
            args.append(f"--since=@{int(query.since.timestamp())}")
        if query.until is not None:
            args.append(f"--until=@{int(query.until.timestamp()) + 1}")
        if not query.source:
            args += ["-n", str(query.limit)]
        entries = self._run(args)
        try:
            found = (journal_record(e) for e in entries if e.get("__CURSOR"))
            wanted = (r for r in found if _in_log(r, query.log) and query.accepts(r))
            return newest(itertools.islice(wanted, query.limit), query.limit)
        finally:
            entries.close()

    def _run(self, args: list[str]) -> Generator[Mapping[str, Any], None, None]:
        """journalctl's entries one by one; a failing journalctl raises OSError."""
        return program_output([*self.command, *args], "journalctl", _entries)


def _entries(stream: IO[bytes]) -> Iterator[Mapping[str, Any]]:
    for line in stream:
        try:
            entry = json.loads(line)
        except ValueError:
            log.warning("skipping a line journalctl printed that is not JSON")
            continue
        if isinstance(entry, dict):
            yield entry


def _in_log(record: EventRecord, wanted: str) -> bool:
    return wanted.casefold() in (ALL, record.log_name.casefold())


def _text(value: Any) -> str | None:
    if isinstance(value, list) and value and all(isinstance(b, int) for b in value):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, list) and value:
        return _text(value[0])
    return value if isinstance(value, str) else None


def journal_record(entry: Mapping[str, Any]) -> EventRecord:
    """A journal entry as an EventRecord (see the module's docstring for the mapping)."""
    priority = _text(entry.get("PRIORITY"))
    level = Level.INFORMATION
    if priority is not None and priority.isdigit():
        level = PRIORITY_LEVELS.get(int(priority), Level.VERBOSE)
    micros = _text(entry.get("_SOURCE_REALTIME_TIMESTAMP")) or _text(
        entry.get("__REALTIME_TIMESTAMP")
    )
    at = datetime.fromtimestamp(int(micros) / 1e6, UTC) if micros else datetime.now(UTC)
    data = {k: v for k in DATA_FIELDS if (v := _text(entry.get(k))) is not None}
    return EventRecord(
        log_name=_text(entry.get("_SYSTEMD_UNIT")) or ALL,
        provider=_text(entry.get("SYSLOG_IDENTIFIER")) or _text(entry.get("_COMM")) or "",
        event_id=0,
        level=int(level),
        record_id=_text(entry.get("__CURSOR")) or "",
        time_created=at,
        computer=_text(entry.get("_HOSTNAME")) or "",
        user_sid=_text(entry.get("_UID")),
        data=data,
        message=_text(entry.get("MESSAGE")) or "",
    )
