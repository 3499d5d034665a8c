"""Timeline batches for the intake figures: batch `seq` holds 1,000 events of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

BATCH = 1_000
START = datetime(2024, 1, 1, tzinfo=UTC)
SOURCES = ("winlog:Security", "winlog:System", "journald:systemd-logind")
KINDS = ("logon", "logoff", "boot", "shutdown")


def timeline_events(seq: int) -> list[dict[str, Any]]:
    """Shaped like bench.baselines.timeline_rows, so the figure and baseline store alike."""
    events = []
    for n in range(seq * BATCH, (seq + 1) * BATCH):
        events.append(
            {
                "at": (START + timedelta(seconds=n)).isoformat(),
                "kind": KINDS[n % len(KINDS)],
                "source": SOURCES[n % len(SOURCES)],
                "event_record_id": str(1_000_000 + n),
                "payload": {
                    "user": f"user{n % 97}",
                    "domain": "CORP",
                    "logon_type": 2,
                    "logon_id": hex(n),
                },
            }
        )
    return events


def timeline_batch(seq: int) -> bytes:
    """The request body of batch `seq`: 1,000 events no other batch holds."""
    return orjson.dumps({"events": timeline_events(seq)})


def timeline_replay(preloaded: int, seq: int) -> bytes:
    """One of the first `preloaded` batches again: 1,000 duplicates."""
    return timeline_batch(seq % preloaded)
