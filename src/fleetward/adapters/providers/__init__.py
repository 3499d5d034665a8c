"""Provider normalisers: each sender's webhook body to NormalizedEvent.

Every provider is a package with the same shape (`<name>/normalize.py`
exporting `normalize`), looked up here by `Provider`; `normalize` is the one
step the services are given. Normalisers are pure: no I/O, no clock, no
database; the same body always gives the same events, which is what makes a
replayed webhook a no-op further down the pipeline. A body they cannot read
raises the domain's PayloadError.
"""

from __future__ import annotations

from typing import Any, Protocol

from fleetward.adapters.providers import alertmanager, generic, ninjaone, tacticalrmm
from fleetward.adapters.providers.settings import ProviderSettings
from fleetward.domain.alerts import Ignored, NormalizedEvent, Provider
from fleetward.domain.errors import PayloadError
from fleetward.domain.integrations import Integration

__all__ = ["Normalizer", "ProviderSettings", "normalize", "normalizer_for"]


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


def normalize(integration: Integration, body: object) -> list[NormalizedEvent | Ignored]:
    """The integration's provider reads the decoded body into events (PayloadError if
    it cannot); the step webhook intake and rule dry runs are given."""
    settings = ProviderSettings.from_mapping(integration.settings)
    return normalizer_for(integration.provider).normalize(body, settings)
