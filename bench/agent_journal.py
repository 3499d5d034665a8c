"""A journalctl stand-in for the agent memory benchmark: N logind session entries as JSON.

Usage: python -m bench.agent_journal N [journalctl options]. Honours
--after-cursor (cursors are `s=bench;i=<n>`), so a restarted agent resumes;
every other option is accepted and ignored. Each entry is a human logon the
domain classifier turns into one timeline event.
"""

from __future__ import annotations

import json
import sys

T0_MICROS = 1_740_816_000_000_000  # 2025-03-01T08:00:00Z
SESSION_START = "8d45620c1a4348dbb17410da57c60c66"
BOOT_ID = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"


def entry(n: int) -> dict[str, str]:
    return {
        "__CURSOR": f"s=bench;i={n}",
        "__REALTIME_TIMESTAMP": str(T0_MICROS + n * 1_000),
        "_BOOT_ID": BOOT_ID,
        "_HOSTNAME": "bench-host",
        "PRIORITY": "6",
        "SYSLOG_IDENTIFIER": "systemd-logind",
        "_SYSTEMD_UNIT": "systemd-logind.service",
        "MESSAGE_ID": SESSION_START,
        "MESSAGE": f"New session {n} of user user{n % 50}.",
        "SESSION_ID": str(n),
        "USER_ID": f"user{n % 50}",
        "CLASS": "user",
    }


def main(argv: list[str]) -> int:
    total = int(argv[0])
    start = 0
    for arg in argv[1:]:
        if arg.startswith("--after-cursor="):
            start = int(arg.rsplit("i=", 1)[1]) + 1
    out = sys.stdout
    for n in range(start, total):
        out.write(json.dumps(entry(n)) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
