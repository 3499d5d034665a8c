"""A hand-written ProviderApi for tests of the calls Fleetward makes to an RMM.

`FakeProvider.factory` is passed to bootstrap.build(provider_apis=...): it opens
an API for NinjaOne and Tactical integrations (as the real factory does when
credentials are set) and records what each call asked. `failures` makes the
next calls raise ProviderApiError, as a provider that is down would.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from fleetward.domain.alerts import Alert, NormalizedEvent, Provider
from fleetward.domain.errors import ProviderApiError
from fleetward.domain.integrations import Integration
from fleetward.services.ports import ProviderApi


@dataclass
class FakeProvider:
    resets: list[tuple[str, str | None]] = field(default_factory=list)  # (external id, ref)
    acknowledged: list[str] = field(default_factory=list)
    failures: int = 0  # the next this many calls fail
    supports_acknowledge: bool = True
    opened: int = 0
    closed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def factory(self, integration: Integration, _credentials: Mapping[str, str]) -> ProviderApi:
        assert integration.provider in (Provider.NINJAONE, Provider.TACTICALRMM)
        with self._lock:
            self.opened += 1
        return _FakeApi(self)

    def _call(self) -> None:
        with self._lock:
            if self.failures > 0:
                self.failures -= 1
                raise ProviderApiError("provider answered 503 Service Unavailable", status_code=503)


class _FakeApi:
    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider

    async def active_alerts(self) -> list[NormalizedEvent]:
        return []

    async def reset(self, alert: Alert, ticket_reference: str | None) -> None:
        self.provider._call()
        self.provider.resets.append((alert.external_alert_id, ticket_reference))

    async def acknowledge(self, alert: Alert) -> bool:
        self.provider._call()
        if not self.provider.supports_acknowledge:
            return False
        self.provider.acknowledged.append(alert.external_alert_id)
        return True

    async def aclose(self) -> None:
        self.provider.closed += 1
