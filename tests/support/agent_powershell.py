"""A stand-in for `powershell.exe -Command "Get-WinEvent ... | ForEach-Object { $_.ToXml() }"`.

Usage: python agent_powershell.py FIXTURE.evtx SCRIPT. Prints the fixture's
records as ToXml() does (tests/support/agent_winevent.py): for the poll script
those after the `EventRecordID>N` its XPath names, oldest first; for a query
(-FilterHashtable) every record, newest first, as Get-WinEvent lists them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.agent_winevent import to_xml_lines

_RECORD_ID = re.compile(r"<EventRecordID>(\d+)</EventRecordID>")


def main(argv: list[str]) -> int:
    fixture, script = argv
    lines = list(to_xml_lines(Path(fixture)))
    after = re.search(r"EventRecordID>(\d+)", script)
    if after is not None:
        floor = int(after.group(1))
        found = [line for line in lines if int(_RECORD_ID.search(line).group(1)) > floor]  # type: ignore[union-attr]
    else:
        found = list(reversed(lines))
    out = sys.stdout.buffer
    out.write(b"\xef\xbb\xbf")  # [Console]::OutputEncoding = UTF8 starts with a BOM
    for line in found:
        out.write(line.encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
