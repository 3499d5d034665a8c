"""A stand-in for `powershell.exe -Command "Get-WinEvent -LogName 'X' ..."` on a machine
whose logs are the .evtx files of one folder.

Usage: python agent_powershell_logs.py FOLDER SCRIPT. The log the script names
(`-LogName 'X'` when polling, `LogName='X'` in a query's hashtable) is the
folder's file of that channel, printed as agent_powershell.py prints one file;
a log no file holds fails as Get-WinEvent does for a log the machine lacks.
Every run is appended to FOLDER/asked.txt, so a test can see which logs were read.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fleetward.domain.eventlog import EventRecord
from fleetward.evtx_reader import read_evtx
from tests.support import agent_powershell

_LOG = re.compile(r"LogName\s*=?\s*'([^']+)'")


def channel_of(path: Path) -> str | None:
    for found in read_evtx(path):
        if isinstance(found, EventRecord):
            return found.log_name
    return None


def main(argv: list[str]) -> int:
    folder, script = Path(argv[0]), argv[1]
    named = _LOG.search(script)
    if named is None:
        print("no -LogName in the script", file=sys.stderr)
        return 1
    log = named.group(1)
    with (folder / "asked.txt").open("a", encoding="utf-8") as asked:
        asked.write(log + "\n")
    for path in sorted(folder.glob("*.evtx")):
        if (channel_of(path) or "").casefold() == log.casefold():
            return agent_powershell.main([str(path), script])
    print(
        f'There is not an event log on the localhost computer that matches "{log}".',
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
