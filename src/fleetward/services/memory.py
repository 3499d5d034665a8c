"""What a process keeps in memory to spare the database, under one invalidation rule.

The intakes keep four memories: webhook integrations with their secrets,
occurrences committed (replays answered "duplicate"), tenants' pipeline views,
and agent batches committed. Each is a `Memory`, and each entry in it is
trusted only while all of these hold:

- it is younger than the memory's `max_age`. This is what bounds a change
  made by another process: a webhook secret rotated on another API node
  stops working here within the integrations' 5 seconds;
- it was stored under the version the caller reads from the database now,
  where the database keeps one (a tenant's `config_version`, migration 0004):
  a change anywhere is seen at the next read of that number;
- nothing this process changed has forgotten it (`forget`, `clear`): a
  change made here is seen here at once.

Past `max_entries` the least recently used entry goes first, so a memory
costs a bounded amount whatever senders send.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memory(Generic[K, V]):
    """A bounded LRU map whose entries expire and may carry a database version."""

    def __init__(
        self, max_entries: int, max_age: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.max_age = max_age
        self._clock = clock
        # key -> (trusted until, version stored under, value); oldest use first
        self._entries: OrderedDict[K, tuple[float, int | None, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, version: int | None = None) -> V | None:
        """The value, if still trusted at `version` (see the module's rule); else None.

        Takes no lock: it is on every webhook's path, and each step here is one
        atomic operation on the OrderedDict (the GIL), so the worst a race with
        `put` or `forget` does is a miss, which only means asking the database.
        """
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._entries.pop(key, None)
            return None
        if entry[1] != version:
            return None
        try:
            self._entries.move_to_end(key)
        except KeyError:
            return None  # forgotten or evicted meanwhile
        return entry[2]

    def now(self) -> float:
        """This memory's clock: take it before reading what `put` will keep (read_at)."""
        return self._clock()

    def put(
        self, key: K, value: V, version: int | None = None, read_at: float | None = None
    ) -> None:
        """Remember `value`, its age counted from `read_at` (default now); one stored
        under an older version never replaces a newer one (a slow transaction must
        not put back what a faster one superseded)."""
        with self._lock:
            now = self._clock()
            known = self._entries.get(key)
            if (
                known is not None
                and known[0] > now
                and version is not None
                and known[1] is not None
                and known[1] > version
            ):
                return
            born = now if read_at is None else read_at
            self._entries[key] = (born + self.max_age, version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
