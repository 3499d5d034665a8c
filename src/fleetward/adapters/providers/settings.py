"""The per-integration settings a normaliser reads (everything else is the pipeline's)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleetward.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """How to read one integration's payloads.

    client_label: the Alertmanager label whose value names the customer
        organisation (the event's external_org_id). Other providers ignore it.
    """

    client_label: str = "client"

    def __post_init__(self) -> None:
        # Raised when an integration's settings are saved (422), so a bad
        # label never reaches a webhook.
        if not isinstance(self.client_label, str) or not self.client_label.strip():
            raise InvalidInput(
                "client_label must be a non-empty label name", field="settings.client_label"
            )

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> ProviderSettings:
        """Pick the keys this class knows from an integration's settings.

        Integration settings also hold things normalisers never see (secrets,
        poll interval, default client), so unknown keys are not an error here.
        """
        label = settings.get("client_label")
        return cls() if label is None else cls(client_label=label)
