"""Which integrations the scheduler polls on its turn (domain/sync.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fleetward.domain.alerts import Provider
from fleetward.domain.integrations import Integration
from fleetward.domain.sync import due_for_poll

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def integration(
    provider: Provider = Provider.NINJAONE, enabled: bool = True, **settings: Any
) -> Integration:
    return Integration(uuid.uuid4(), uuid.uuid4(), provider, "I", enabled, settings)


def test_only_enabled_api_integrations_with_polling_on_whose_interval_passed() -> None:
    fresh = integration(poll_enabled=True)
    due = integration(poll_enabled=True, poll_interval_minutes=5)
    not_yet = integration(
        provider=Provider.TACTICALRMM, poll_enabled=True, poll_interval_minutes=30
    )
    default_interval = integration(poll_enabled=True)  # 15 minutes
    off = integration(poll_enabled=False)
    unset = integration()
    disabled = integration(enabled=False, poll_enabled=True)
    no_api = integration(provider=Provider.GENERIC, poll_enabled=True)
    last = {
        due.id: NOW - timedelta(minutes=5),
        not_yet.id: NOW - timedelta(minutes=29),
        default_interval.id: NOW - timedelta(minutes=14, seconds=59),
    }
    everything = [fresh, due, not_yet, default_interval, off, unset, disabled, no_api]
    assert due_for_poll(everything, last, NOW) == [fresh, due]
