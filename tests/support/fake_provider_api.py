"""A hand-written ProviderApi: the alerts a provider reports as active, set by the test.

Its events are what the provider's webhook normaliser makes of the same body, so a
webhook and a poll of one alert carry the same external id and series, as the
ProviderApi contract (services/ports/) promises of the real clients.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from fleetward.adapters.providers import normalize
from fleetward.domain.alerts import Alert, NormalizedEvent
from fleetward.domain.errors import ProviderApiError
from fleetward.domain.integrations import Integration


class FakeProviderApi:
    def __init__(self) -> None:
        self.active: dict[str, NormalizedEvent] = {}  # by external alert id
        self.failure: ProviderApiError | None = None
        # While set, active_alerts() waits until `release` is set.
        self.hold = False
        self.release = threading.Event()
        self.entered = threading.Event()
        self.fetches = 0
        self.closed = 0

    def report(self, integration: Integration, body: dict[str, Any]) -> NormalizedEvent:
        """The provider reports this webhook body's alert as active."""
        (event,) = normalize(integration, body)
        assert isinstance(event, NormalizedEvent)
        self.active[event.external_alert_id] = event
        return event

    def report_events(self, events: list[NormalizedEvent]) -> None:
        for event in events:
            self.active[event.external_alert_id] = event

    def forget(self, external_alert_id: str) -> None:
        """The alert reset at the provider: no longer reported."""
        del self.active[external_alert_id]

    async def active_alerts(self) -> list[NormalizedEvent]:
        self.fetches += 1
        self.entered.set()
        while self.hold and not self.release.is_set():
            await asyncio.sleep(0.01)
        if self.failure is not None:
            raise self.failure
        return list(self.active.values())

    async def reset(self, alert: Alert, ticket_reference: str | None) -> None:
        raise AssertionError("a sync never resets at the provider")

    async def acknowledge(self, alert: Alert) -> bool:
        raise AssertionError("a sync never acknowledges at the provider")

    async def aclose(self) -> None:
        self.closed += 1


class FakeProviders:
    """The ProviderApiFactory: an API for the integrations a test gave one."""

    def __init__(self) -> None:
        self.apis: dict[uuid.UUID, FakeProviderApi] = {}

    def add(self, integration_id: uuid.UUID | str) -> FakeProviderApi:
        api = self.apis[uuid.UUID(str(integration_id))] = FakeProviderApi()
        return api

    def __call__(
        self, integration: Integration, credentials: Mapping[str, str]
    ) -> FakeProviderApi | None:
        return self.apis.get(integration.id)


class QuietProviders:
    """A ProviderApiFactory giving every integration an API that reports nothing."""

    def __call__(self, integration: Integration, credentials: Mapping[str, str]) -> FakeProviderApi:
        return FakeProviderApi()
