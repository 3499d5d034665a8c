"""Provider normalisers: each sender's webhook body to NormalizedEvent.

Every provider is a package with the same shape (`<name>/normalize.py`
exporting `normalize`), looked up here by `Provider`. Normalisers are pure:
no I/O, no clock, no database; the same body always gives the same events,
which is what makes a replayed webhook a no-op further down the pipeline.
"""

from __future__ import annotations

from typing import Any, Protocol

from fleetward.adapters.providers import alertmanager, generic, ninjaone, tacticalrmm
from fleetward.adapters.providers.errors import PayloadError
from fleetward.adapters.providers.settings import ProviderSettings
from fleetward.domain.alerts import Ignored, NormalizedEvent, Provider

__all__ = ["Normalizer", "PayloadError", "ProviderSettings", "normalizer_for"]


class Normalizer(Protocol):
    def normalize(self, body: Any, settings: ProviderSettings) -> list[NormalizedEvent | Ignored]:
        """One item per alert in the body (Alertmanager sends many, others one).

        `body` is the decoded JSON, whatever its type. Raises PayloadError,
        and nothing else, when the body is not a valid payload.
        """
        ...


# The provider packages themselves satisfy the protocol (module-level `normalize`).
_NORMALIZERS: dict[Provider, Normalizer] = {
    Provider.NINJAONE: ninjaone,
    Provider.TACTICALRMM: tacticalrmm,
    Provider.ALERTMANAGER: alertmanager,
    Provider.GENERIC: generic,
}


class _AgentMatches:
    """The built-in agent integration takes no webhook bodies: agents post their
    watch-rule matches to /api/v1/agent/matches (services/eventlog_alerts.py)."""

    @staticmethod
    def normalize(body: Any, settings: ProviderSettings) -> list[NormalizedEvent | Ignored]:
        raise PayloadError(
            "the Fleetward agents integration takes no webhook bodies; agents send "
            "their matches to /api/v1/agent/matches",
            "provider",
        )


def normalizer_for(provider: Provider) -> Normalizer:
    if provider is Provider.AGENT:
        return _AgentMatches()
    return _NORMALIZERS[provider]
