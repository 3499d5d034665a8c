"""The live Windows event logs, read with PowerShell's Get-WinEvent and parsed from Event XML.

`Get-WinEvent ... | ForEach-Object { $_.ToXml() }` prints each event as one
`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">`
document, the schema the .evtx parser renders too; this module turns that
output into the same EventRecords the .evtx collector makes from JSON (its
tests check that on every fixture record). One log is one source, its
watermark the last EventRecordID read (XPath `EventRecordID > N`, oldest first).

The XML comes from Windows' own event API on the same machine, and is parsed
with the standard library's expat-based parser, which never fetches external
entities and (expat 2.4.1 and later) refuses entity-expansion bombs; a
document type declaration is refused outright, since event XML never has one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import IO
from xml.etree.ElementTree import Element, ParseError, fromstring

from fleetward.agent.collectors.base import STEP_SIZE, Entry, Read, Step, newest, program_output
from fleetward.domain.agent_config import EventLogQuery
from fleetward.domain.eventlog import EventRecord
from fleetward.domain.timeline import classify

log = logging.getLogger("fleetward.agent.winevent")

POWERSHELL = ("powershell.exe", "-NoProfile", "-NonInteractive", "-Command")
EVENT_NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Windows writes 7 digits; Python reads 6
LEVELS = {"critical": (1,), "error": (1, 2), "warning": (1, 2, 3)}
LEVELS["information"] = (0, 1, 2, 3, 4)
LEVELS["verbose"] = (0, 1, 2, 3, 4, 5)

# -Oldest: in record order, so the watermark only moves forward. ToXml() is
# the event as Windows stores it (no rendered message: that needs the
# provider's message files and is what makes Get-WinEvent slow).
_POLL = (
    "[Console]::OutputEncoding = [Text.Encoding]::UTF8; "
    "try {{ Get-WinEvent -LogName '{log}' -FilterXPath '{xpath}' -Oldest -ErrorAction Stop "
    "| ForEach-Object {{ $_.ToXml() }} }} "
    "catch {{ if ($_.FullyQualifiedErrorId -notmatch 'NoMatchingEventsFound') {{ throw }} }}"
)
_QUERY = (
    "[Console]::OutputEncoding = [Text.Encoding]::UTF8; "
    "try {{ Get-WinEvent -FilterHashtable @{{{filters}}} -MaxEvents {limit} -ErrorAction Stop "
    "| ForEach-Object {{ $_.ToXml() }} }} "
    "catch {{ if ($_.FullyQualifiedErrorId -notmatch 'NoMatchingEventsFound') {{ throw }} }}"
)


class WinEventCollector:
    """One Windows event log (System, Security, Microsoft-Windows-Sysmon/Operational ...)."""

    def __init__(
        self,
        log_name: str,
        command: Sequence[str] = POWERSHELL,
        step_size: int = STEP_SIZE,
    ) -> None:
        if "'" in log_name:
            raise ValueError("an event log name cannot hold a quote")
        self.log_name = log_name
        self.command = list(command)
        self.step_size = step_size

    @property
    def source(self) -> str:
        return f"winevent:{self.log_name}"

    def logs(self) -> list[str]:
        return [self.log_name]

    def holds(self, log_name: str) -> bool:
        return log_name.casefold() == self.log_name.casefold()

    def poll(self, watermark: str | None) -> Iterator[Step]:
        after = int(watermark) if watermark else 0
        script = _POLL.format(log=self.log_name, xpath=f"*[System[EventRecordID>{after}]]")
        entries: list[Entry] = []
        last = watermark
        for record in parse_events(self._run(script)):
            entries.append(Read(record, classify(record)))
            if last is None or int(record.record_id) > int(last):
                last = record.record_id
            if len(entries) >= self.step_size:
                yield Step(entries, str(last))
                entries = []
        if entries and last is not None:
            yield Step(entries, last)

    def query(self, query: EventLogQuery) -> list[EventRecord]:
        if query.log.casefold() != self.log_name.casefold():
            return []
        filters = [f"LogName='{self.log_name}'"]
        if query.event_id is not None:
            filters.append(f"Id={int(query.event_id)}")
        if query.level is not None:
            filters.append("Level=" + ",".join(str(v) for v in LEVELS[query.level.value]))
        if query.source:
            filters.append("ProviderName='{}'".format(query.source.replace("'", "''")))
        if query.since is not None:
            filters.append(f"StartTime=[datetime]'{query.since.isoformat()}'")
        if query.until is not None:
            filters.append(f"EndTime=[datetime]'{query.until.isoformat()}'")
        script = _QUERY.format(filters="; ".join(filters), limit=query.limit)
        return newest((r for r in parse_events(self._run(script)) if query.accepts(r)), query.limit)

    def _run(self, script: str) -> Iterator[str]:
        return program_output([*self.command, script], "Get-WinEvent", _lines)


def _lines(stream: IO[bytes]) -> Iterator[str]:
    for raw in stream:
        yield raw.decode("utf-8-sig", "replace")


def split_events(lines: Iterable[str]) -> Iterator[str]:
    """The output's `<Event>` documents, one string each, whether printed on one line or many."""
    pending: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped and not pending:
            continue
        pending.append(line)
        if stripped.endswith("</Event>") or (
            stripped.startswith("<Event") and stripped.endswith("/>")
        ):
            yield "".join(pending)
            pending = []
    if "".join(pending).strip():
        log.warning("Get-WinEvent output ended inside an event; it is skipped")


def parse_events(lines: Iterable[str]) -> Iterator[EventRecord]:
    """EventRecords from Get-WinEvent ToXml() output; an event that makes no sense is skipped."""
    for text in split_events(lines):
        try:
            yield record_from_xml(text)
        except (ParseError, ValueError, KeyError) as error:
            log.warning("skipping an event Get-WinEvent printed: %s", error)


def record_from_xml(text: str) -> EventRecord:
    """One Event XML document as an EventRecord, field for field as evtx_reader.py reads it."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValueError("event XML never declares a document type")
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    root = fromstring(text)  # noqa: S314 (no DTD, checked above; see the module docstring)
    system = _child(root, "System")
    if system is None:
        raise KeyError("System")
    provider = _child(system, "Provider")
    provider_attrs = provider.attrib if provider is not None else {}
    time_created = _child(system, "TimeCreated")
    system_time = time_created.get("SystemTime") if time_created is not None else None
    if not system_time:
        raise KeyError("TimeCreated")
    security = _child(system, "Security")
    return EventRecord(
        log_name=_value(system, "Channel"),
        provider=provider_attrs.get("Name") or provider_attrs.get("EventSourceName") or "",
        event_id=int(_value(system, "EventID")),
        level=int(_value(system, "Level") or 0),
        record_id=str(int(_value(system, "EventRecordID"))),
        time_created=datetime.fromisoformat(
            _FRACTION.sub(r"\1", system_time).replace("Z", "+00:00")
        ),
        computer=_value(system, "Computer"),
        user_sid=(security.get("UserID") if security is not None else None) or None,
        keywords=int(_value(system, "Keywords") or "0", 0),
        data=xml_data(_child(root, "EventData"), _child(root, "UserData")),
    )


def xml_data(event_data: Element | None, user_data: Element | None) -> dict[str, str]:
    """EventData or UserData as one flat dict, named as evtx_reader.event_data names them."""
    flat: dict[str, str] = {}
    if event_data is not None:
        counts: dict[str, int] = {}
        for child in event_data:
            tag = _local(child.tag)
            name = child.get("Name")
            if tag == "Data" and name is not None:
                # A named <Data> always holds a value, if only an empty one.
                flat.setdefault(name, child.text or "")
                continue
            index = counts.get(tag, 0)
            counts[tag] = index + 1
            key = f"{tag}_{index}" if index else tag
            if tag == "Data":  # unnamed: Data, Data_1, ... even when empty
                flat.setdefault(key, child.text or "")
            else:  # <Binary>, <ComplexData Name=..>: attributes and text, if any
                _flatten(child, key, flat)
    if user_data is not None:
        inner = list(user_data)
        if len(inner) == 1:
            _flatten(inner[0], "", flat)
        else:
            for child in inner:
                _flatten(child, _local(child.tag), flat)
    return flat


def _flatten(element: Element, path: str, flat: dict[str, str]) -> None:
    for name, value in element.attrib.items():
        if not name.startswith("xmlns"):
            flat.setdefault(_join(path, _local(name)), value)
    children = list(element)
    if not children:
        if element.text is not None and path:
            flat.setdefault(path, element.text)
        return
    counts: dict[str, int] = {}
    for child in children:
        tag = _local(child.tag)
        index = counts.get(tag, 0)
        counts[tag] = index + 1
        key = _join(path, tag)
        _flatten(child, f"{key}_{index}" if index else key, flat)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> Element | None:
    found = element.find(EVENT_NS + name)
    return found if found is not None else element.find(name)


def _value(element: Element, name: str) -> str:
    found = _child(element, name)
    return (found.text or "").strip() if found is not None else ""
