"""Row identifiers: UUIDv7, so that new rows land next to each other in every index.

A random (v4) key puts each new row on a random page of its table's primary
key index, and every such page is written again at each commit. A v7 id
starts with the creation time in milliseconds (RFC 9562), so the newest rows
share the rightmost pages of those indexes and a commit rewrites a few pages
instead of one per row. What it gives away, the creation time, is on the row
anyway; the remaining 62 random bits keep ids unguessable enough for keys
(tenant isolation never rests on an id being secret).

Python's uuid module gains uuid7() in 3.14; until then, this.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_VERSION_AND_VARIANT = (0x7 << 76) | (0x2 << 62)
_lock = threading.Lock()
_last = 0


def new_id() -> uuid.UUID:
    """A new UUIDv7, later than any this process made before (RFC 9562, method 3:
    the 12 bits after the milliseconds hold the fraction of the millisecond)."""
    global _last
    nanoseconds = time.time_ns()
    milliseconds, fraction = divmod(nanoseconds, 1_000_000)
    timestamp = (milliseconds << 12) | (fraction * 4096 // 1_000_000)
    with _lock:
        # Two ids in the same 244 ns step, or a clock stepped back: count on
        # from the last one rather than break the order.
        timestamp = max(timestamp, _last + 1)
        _last = timestamp
    random_bits = int.from_bytes(os.urandom(8)) & 0x3FFF_FFFF_FFFF_FFFF
    value = ((timestamp >> 12) << 80) | ((timestamp & 0xFFF) << 64) | random_bits
    return uuid.UUID(int=value | _VERSION_AND_VARIANT)
