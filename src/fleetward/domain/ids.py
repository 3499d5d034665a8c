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
_RANDOM_MASK = 0x3FFF_FFFF_FFFF_FFFF
# Random bytes are read from the OS a page at a time: one system call per id
# was a measurable part of a webhook trigger, which makes three.
_POOL_BYTES = 4096
_lock = threading.Lock()
_last = 0
_pool = b""
_taken = 0
_fork_hook = False


def _forget_pool() -> None:
    """A forked child must not hand out its parent's random bits again."""
    global _pool, _taken
    _pool, _taken = b"", 0


def new_id() -> uuid.UUID:
    """A new UUIDv7, later than any this process made before (RFC 9562, method 3:
    the 12 bits after the milliseconds hold the fraction of the millisecond)."""
    global _last, _pool, _taken, _fork_hook
    nanoseconds = time.time_ns()
    milliseconds, fraction = divmod(nanoseconds, 1_000_000)
    timestamp = (milliseconds << 12) | (fraction * 4096 // 1_000_000)
    with _lock:
        # Two ids in the same 244 ns step, or a clock stepped back: count on
        # from the last one rather than break the order.
        timestamp = max(timestamp, _last + 1)
        _last = timestamp
        if _taken >= len(_pool):
            if not _fork_hook:  # registered on first use, not at import
                os.register_at_fork(after_in_child=_forget_pool)
                _fork_hook = True
            _pool, _taken = os.urandom(_POOL_BYTES), 0
        random_bits = int.from_bytes(_pool[_taken : _taken + 8]) & _RANDOM_MASK
        _taken += 8
    value = ((timestamp >> 12) << 80) | ((timestamp & 0xFFF) << 64) | random_bits
    return uuid.UUID(int=value | _VERSION_AND_VARIANT)
