"""Windows .evtx files, read with the Rust `evtx` parser into EventRecords.

Records stream one at a time, chunk by chunk: a 223 MB log reads in a steady
~18 MB, so a full Security log never sits in memory. A damaged record becomes
a `DamagedRecord` and reading goes on: the parser gives up the rest of that
64 KiB chunk and carries on with the next one.

JSON rather than XML: on every fixture record the parser's two outputs agree
(XML only folds CR LF), and JSON needs no XML parsing on the agent.

Shared by the agent (its .evtx folder collector) and the server (`fleetward
evtx import`), so it lives outside both: like the agent, it imports only the
domain (tests/unit/test_import_rules.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from evtx import PyEvtxParser

from fleetward.domain.eventlog import DamagedRecord, EventRecord

# A parser that stops advancing would otherwise spin here for ever; a file
# this broken has long stopped being worth reading.
MAX_ERRORS_IN_A_ROW = 10_000


def read_evtx(
    path: str | os.PathLike[str],
    *,
    after_record_id: int | None = None,
    threads: int = 1,
) -> Iterator[EventRecord | DamagedRecord]:
    """Every record of the file in reading order, from after `after_record_id` on.

    The watermark is compared, not searched for: a full log wraps around, so
    the file's first records are not always its oldest, and a record id that
    has since been overwritten still resumes correctly.

    A damaged record between two good ones at or before the watermark was
    reported on an earlier pass and is not repeated; one at the very end of
    the file is reported on every pass (nothing after it says it was seen).

    A file that cannot be opened or is not an .evtx file raises OSError.
    `threads` is 1 by default: the agent shares the machine with its users.
    """
    parser = PyEvtxParser(os.fspath(path), number_of_threads=threads)
    records = parser.records_json()
    pending: list[DamagedRecord] = []  # waiting to learn the id of the next good record
    previous: str | None = None
    position = -1
    errors_in_a_row = 0
    while True:
        position += 1
        try:
            raw = next(records)
        except StopIteration:
            break
        # The native iterator's error types are not a documented contract
        # (RuntimeError today): anything it raises is one damaged record.
        except Exception as error:
            pending.append(DamagedRecord(position, _reason(error), previous_record_id=previous))
            errors_in_a_row += 1
            if errors_in_a_row >= MAX_ERRORS_IN_A_ROW:
                reason = f"gave up after {errors_in_a_row} unreadable records in a row"
                pending.append(DamagedRecord(position, reason, previous_record_id=previous))
                break
            continue
        errors_in_a_row = 0
        try:
            record = record_from_json(raw if isinstance(raw, dict) else {})
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # The parser read the record but it makes no sense: if its header
            # id is known the damage is placed at once, else with its neighbours.
            header_id = raw.get("event_record_id") if isinstance(raw, dict) else None
            known = str(header_id) if isinstance(header_id, int) else None
            damage = DamagedRecord(position, _reason(error), known, previous_record_id=previous)
            if known is None:
                pending.append(damage)
                continue
            yield from _placed(pending, known, after_record_id)
            if _newer(known, after_record_id):
                yield damage
            previous = known
            continue
        yield from _placed(pending, record.record_id, after_record_id)
        previous = record.record_id
        if _newer(record.record_id, after_record_id):
            yield record
    yield from pending


def _placed(
    pending: list[DamagedRecord], next_id: str, watermark: int | None
) -> Iterator[DamagedRecord]:
    """The damage waiting for its next neighbour, now that it is known."""
    for damage in pending:
        # Seen before only if both neighbours were: a wrapped log can put new
        # records right before old ones.
        if _newer(next_id, watermark) or _newer(damage.previous_record_id, watermark):
            yield replace(damage, next_record_id=next_id)
    pending.clear()


def _newer(record_id: str | None, watermark: int | None) -> bool:
    """Whether a known record id lies after the watermark (all do without one)."""
    return record_id is not None and (watermark is None or int(record_id) > watermark)


def _reason(error: BaseException) -> str:
    if isinstance(error, KeyError):
        return f"record has no {error.args[0]}"
    return str(error).strip() or type(error).__name__


def record_from_json(raw: dict[str, Any]) -> EventRecord:
    """One record of `records_json()` as an EventRecord; ValueError if it makes no sense."""
    event = json.loads(raw["data"])["Event"]
    system = event["System"]
    provider = _attributes(system.get("Provider"))
    event_id = system["EventID"]
    if isinstance(event_id, dict):  # classic providers: {"#attributes": {Qualifiers}, "#text"}
        event_id = event_id["#text"]
    time_created = _attributes(system.get("TimeCreated")).get("SystemTime")
    if not isinstance(time_created, str):
        # The record header's own write time, as the parser prints it.
        time_created = str(raw["timestamp"]).removesuffix(" UTC")
    security = _attributes(system.get("Security"))
    return EventRecord(
        log_name=_text(system.get("Channel")),
        provider=_text(provider.get("Name") or provider.get("EventSourceName")),
        event_id=int(event_id),
        level=int(system.get("Level") or 0),
        # What Event Viewer and Get-WinEvent show. The record header's own
        # number is the same in a live log, but a filtered export renumbers it.
        record_id=str(int(system.get("EventRecordID", raw["event_record_id"]))),
        time_created=datetime.fromisoformat(time_created),
        computer=_text(system.get("Computer")),
        user_sid=_text(security.get("UserID")) or None,
        keywords=int(str(system.get("Keywords") or "0"), 0),
        data=event_data(event.get("EventData"), event.get("UserData")),
    )


def event_data(event_data: Any, user_data: Any) -> dict[str, str]:
    """EventData or UserData as one flat dict of strings.

    Named values keep their names; unnamed <Data> values become Data, Data_1,
    Data_2 (the parser's own way of naming repeats); nested UserData values
    and XML attributes are dotted paths (Error.Code). The root's attributes
    (a template name) and XML namespaces are not data and are dropped.
    """
    flat: dict[str, str] = {}
    if isinstance(event_data, dict):
        _flatten({k: v for k, v in event_data.items() if k != "#attributes"}, "", flat)
    if isinstance(user_data, dict):
        # UserData wraps its values in one element named after the event
        # (<LogFileCleared>): its children are the data.
        inner = next(iter(user_data.values())) if len(user_data) == 1 else user_data
        _flatten(inner, "", flat)
    return flat


def _flatten(value: Any, path: str, flat: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "#attributes" and isinstance(child, dict):
                for name, attribute in child.items():
                    if not name.startswith("xmlns"):
                        _flatten(attribute, _join(path, name), flat)
            elif key == "#text":
                _flatten(child, path or "Data", flat)
            else:
                _flatten(child, _join(path, key), flat)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _flatten(child, f"{path}_{index}" if index else path, flat)
    elif value is not None:  # an empty <Binary/> or BackupPath says nothing
        flat.setdefault(path or "Data", _text(value))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _attributes(element: Any) -> dict[str, Any]:
    attributes = element.get("#attributes") if isinstance(element, dict) else None
    return attributes if isinstance(attributes, dict) else {}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # as the XML rendering writes them
        return "true" if value else "false"
    return str(value)
