"""Exponential backoff with full jitter: wait a random time in [0, min(cap, base * 2^n)).

Full jitter spreads a fleet's retries after a server outage instead of having
every agent knock at the same instants. The random source is injectable so
tests check the schedule without sleeping.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable

BASE_SECONDS = 1.0
CAP_SECONDS = 64.0


class Backoff:
    def __init__(
        self,
        base: float = BASE_SECONDS,
        cap: float = CAP_SECONDS,
        random: Callable[[], float] | None = None,
    ) -> None:
        self.base = base
        self.cap = cap
        self.random = random or _random.random
        self.failures = 0

    def ceiling(self) -> float:
        """The longest the next wait may be: 1, 2, 4 ... 64, 64 seconds."""
        return min(self.cap, self.base * float(2 ** min(self.failures, 32)))

    def next_delay(self) -> float:
        """The wait before the next attempt after one more failure."""
        delay = self.random() * self.ceiling()
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
