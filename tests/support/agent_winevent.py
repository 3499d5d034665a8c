"""Get-WinEvent output recorded from the real .evtx fixtures.

`Get-WinEvent | ForEach-Object { $_.ToXml() }` prints each event as one line of
Event XML with no whitespace between elements. The `evtx` package renders the
same records in the same schema, indented: taking the indentation out gives
what PowerShell prints for those events on the machine that wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from evtx import PyEvtxParser

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>\s*")
_BETWEEN_TAGS = re.compile(r">\s+<")


def to_xml_lines(path: Path) -> Iterator[str]:
    """One line per readable record, as ToXml() prints it; damaged records are left out."""
    records = PyEvtxParser(str(path)).records()
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception:  # noqa: S112 (a damaged record: Get-WinEvent would not print it either)
            continue
        text = _DECLARATION.sub("", record["data"])
        yield _BETWEEN_TAGS.sub("><", text.strip()) + "\r\n"
