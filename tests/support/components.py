"""Real components for tests: when one is missing, CI fails and a laptop skips."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Real .evtx logs shipped with the tests (see tests/fixtures/evtx/MANIFEST.md).
EVTX_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "evtx"


def evtx_fixtures() -> Path:
    return EVTX_FIXTURES


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(component: str, hint: str) -> None:
    """Fail under CI (nothing is silently skipped there), skip with a reason elsewhere."""
    message = f"{component} is not available: {hint}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def find_postgres_bin() -> Path | None:
    """Debian keeps server binaries under /usr/lib/postgresql/<major>/bin."""
    if env := os.environ.get("FLEETWARD_TEST_PG_BIN"):
        return Path(env)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), reverse=True)
    if candidates:
        return candidates[0].parent
    found = shutil.which("postgres")
    return Path(found).parent if found else None


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None
