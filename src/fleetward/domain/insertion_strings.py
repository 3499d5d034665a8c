"""Windows insertion strings (`%%1793`) in event data, as Event Viewer shows them.

Windows stores some event fields as a reference to a parameter message
(`%%2313`), which Event Viewer replaces with its text ("Unknown user name or
bad password.") from the provider's message file; a record read from an .evtx
file, or as Event XML, carries only the reference. The common ones, those of
the Security audit events, are resolved from the table shipped in
`fleetward/data/windows_parameter_messages.tsv`; any other stays as it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from importlib import resources

TABLE_FILE = "windows_parameter_messages.tsv"
_REFERENCE = re.compile(r"%%(\d{1,10})")


def parse_table(text: str) -> dict[str, str]:
    """The table's `number<TAB>text` lines; comments (#) and blank lines are skipped."""
    table: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        number, _, message = line.partition("\t")
        if number.strip().isdigit() and message.strip():
            table[number.strip()] = message.strip()
    return table


@functools.cache
def parameter_messages() -> Mapping[str, str]:
    """The shipped table, read once on first use (package data, never at import)."""
    text = resources.files("fleetward").joinpath("data", TABLE_FILE).read_text("utf-8")
    return parse_table(text)


def resolve(value: str, table: Mapping[str, str] | None = None) -> str:
    """`value` with each `%%N` the table knows replaced by its text; unknown ones stay."""
    if "%%" not in value:
        return value
    known = parameter_messages() if table is None else table
    return _REFERENCE.sub(lambda found: known.get(found.group(1), found.group(0)), value)


def resolve_data(data: Mapping[str, str]) -> dict[str, str]:
    """Every value of an event's data resolved; multi-value fields keep one per line."""
    return {key: _lines(resolve(value)) for key, value in data.items()}


def _lines(value: str) -> str:
    # UserAccountControl lists one flag per line, indented with tabs.
    parts = [p.strip() for p in value.splitlines() if p.strip()]
    return ", ".join(parts) if len(parts) > 1 else value.strip()
