"""Every .evtx file of a folder (exported or archived logs), on any OS.

The watermark is a JSON object, file name -> last record id read: one per
file, in the one watermark of the folder, so a step's items and the position
in its file commit together. A file whose size and modification time have not
changed since the last poll is not parsed again (only in memory: after a
restart each file is read once more from its watermark, which yields nothing).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from fleetward.agent.collectors.base import STEP_SIZE, Damage, Entry, Failure, Read, Step, newest
from fleetward.domain.agent_config import EventLogQuery
from fleetward.domain.eventlog import DamagedRecord, EventRecord
from fleetward.domain.timeline import classify
from fleetward.evtx_reader import read_evtx

log = logging.getLogger("fleetward.agent.evtx")


class EvtxFolderCollector:
    def __init__(self, folder: Path, step_size: int = STEP_SIZE) -> None:
        self.folder = folder
        self.step_size = step_size
        self._seen: dict[str, tuple[int, int, str | None]] = {}  # name -> size, mtime, mark
        self._channels: dict[str, tuple[int, int, str | None]] = {}  # name -> size, mtime, log

    @property
    def source(self) -> str:
        return f"evtx-folder:{self.folder.resolve()}"

    def files(self) -> list[Path]:
        try:
            found = [p for p in self.folder.iterdir() if p.suffix.lower() == ".evtx"]
        except OSError as error:
            raise OSError(f"cannot list {self.folder}: {error}") from error
        return sorted(p for p in found if p.is_file())

    def logs(self) -> list[str]:
        """The channels its files hold (each file's first record says; a file is one log)."""
        found: dict[str, str] = {}
        try:
            paths = self.files()
        except OSError:
            return []
        for path in paths:
            channel = self._channel(path)
            if channel:
                found.setdefault(channel.casefold(), channel)
        return sorted(found.values(), key=str.casefold)

    def holds(self, log_name: str) -> bool:
        return log_name.casefold() in {name.casefold() for name in self.logs()}

    def _channel(self, path: Path) -> str | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        known = self._channels.get(path.name)
        if known is not None and known[:2] == (stat.st_size, stat.st_mtime_ns):
            return known[2]
        channel = None
        try:
            for found in read_evtx(path):
                if isinstance(found, EventRecord):
                    channel = found.log_name
                    break
        except OSError as error:
            log.warning("cannot read %s: %s", os.fspath(path), error)
        self._channels[path.name] = (stat.st_size, stat.st_mtime_ns, channel)
        return channel

    def poll(self, watermark: str | None) -> Iterator[Step]:
        marks: dict[str, str] = json.loads(watermark) if watermark else {}
        for path in self.files():
            try:
                stat = path.stat()
            except OSError:
                continue  # gone since the listing
            seen = (stat.st_size, stat.st_mtime_ns, marks.get(path.name))
            if self._seen.get(path.name) == seen:
                continue
            try:
                yield from self._poll_file(path, marks)
            except OSError as error:
                # Not an .evtx file, or unreadable: the rest of the folder goes on.
                key = f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"
                failure = Failure(path.name, f"cannot read {path.name}: {error}", key)
                yield Step([failure], json.dumps(marks, sort_keys=True))
            self._seen[path.name] = (stat.st_size, stat.st_mtime_ns, marks.get(path.name))

    def _poll_file(self, path: Path, marks: dict[str, str]) -> Iterator[Step]:
        name = path.name
        start = marks.get(name)
        entries: list[Entry] = []
        last = start
        for found in read_evtx(path, after_record_id=int(start) if start else None):
            if isinstance(found, DamagedRecord):
                # A damaged tail is yielded on every pass; it was reported when
                # the watermark reached the good record before it.
                tail = found.next_record_id is None and found.previous_record_id == start
                if not (tail and start is not None):
                    entries.append(Damage(name, found))
                continue
            entries.append(Read(found, classify(found)))
            last = _later(last, found.record_id)
            if len(entries) >= self.step_size:
                yield self._step(marks, name, last, entries)
                entries = []
        if entries or last != start:
            yield self._step(marks, name, last, entries)

    def _step(
        self, marks: dict[str, str], name: str, last: str | None, entries: list[Entry]
    ) -> Step:
        if last is not None:
            marks[name] = last
        return Step(entries, json.dumps(marks, sort_keys=True))

    def query(self, query: EventLogQuery) -> list[EventRecord]:
        wanted = query.log.casefold()

        def records() -> Iterator[EventRecord]:
            for path in self.files():
                try:
                    for found in read_evtx(path):
                        if (
                            isinstance(found, EventRecord)
                            and found.log_name.casefold() == wanted
                            and query.accepts(found)
                        ):
                            yield found
                except OSError as error:
                    log.warning("cannot read %s: %s", os.fspath(path), error)

        return newest(records(), query.limit)


def _later(current: str | None, record_id: str) -> str:
    """The higher record id: a wrapped log can hand back older ids after newer ones."""
    if current is None or int(record_id) > int(current):
        return record_id
    return current
