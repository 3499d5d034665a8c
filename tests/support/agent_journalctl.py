"""A stand-in for `journalctl -o json` that prints a recorded journal file.

Usage: python agent_journalctl.py JOURNAL.json [journalctl options...]. It
honours what the agent passes: --after-cursor=C (an unknown cursor fails as
journalctl does), -r, -n N, -u UNIT, -p N, --since=@T, --until=@T and
FIELD=VALUE matches; -o json and --no-pager are accepted and change nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    path, *args = argv
    text = Path(path).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    after: str | None = None
    reverse = False
    count: int | None = None
    matches: dict[str, str] = {}
    max_priority: int | None = None
    since = until = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--after-cursor="):
            after = arg.split("=", 1)[1]
        elif arg == "-r":
            reverse = True
        elif arg == "-n":
            i += 1
            count = int(args[i])
        elif arg == "-u":
            i += 1
            matches["_SYSTEMD_UNIT"] = args[i]
        elif arg == "-p":
            i += 1
            max_priority = int(args[i])
        elif arg == "-o":
            i += 1
        elif arg.startswith("--since=@"):
            since = int(arg.split("@", 1)[1]) * 1_000_000
        elif arg.startswith("--until=@"):
            until = int(arg.split("@", 1)[1]) * 1_000_000
        elif "=" in arg and not arg.startswith("-"):
            key, value = arg.split("=", 1)
            matches[key] = value
        i += 1
    if after is not None:
        cursors = [e["__CURSOR"] for e in entries]
        if after not in cursors:
            print("Failed to seek to cursor: Invalid argument", file=sys.stderr)
            return 1
        entries = entries[cursors.index(after) + 1 :]
    chosen = []
    for entry in entries:
        stamp = int(entry["__REALTIME_TIMESTAMP"])
        if any(entry.get(k) != v for k, v in matches.items()):
            continue
        if max_priority is not None and int(entry.get("PRIORITY", "6")) > max_priority:
            continue
        if (since is not None and stamp < since) or (until is not None and stamp >= until):
            continue
        chosen.append(entry)
    if reverse:
        chosen.reverse()
    if count is not None:
        chosen = chosen[:count] if reverse else chosen[-count:]
    for entry in chosen:
        sys.stdout.write(json.dumps(entry) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
