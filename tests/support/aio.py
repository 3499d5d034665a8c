"""Running a coroutine from a synchronous test."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T], timeout: float = 10) -> T:
    """asyncio.run() in a thread of its own: a session fixture (Playwright's sync
    API) may keep an event loop running in the test thread, where asyncio.run fails."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout)
