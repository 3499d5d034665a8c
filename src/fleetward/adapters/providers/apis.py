"""Which API client an integration gets: the ProviderApiFactory the services are given."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from fleetward.adapters.outbound import OutboundHttp
from fleetward.adapters.providers.api_client import MAX_ATTEMPTS, ApiClient, Sleep
from fleetward.adapters.providers.ninjaone.api import NinjaOneApi
from fleetward.adapters.providers.tacticalrmm.api import TacticalApi
from fleetward.domain.alerts import Provider
from fleetward.domain.integrations import API_CREDENTIALS, Integration
from fleetward.services.ports import ProviderApi, ProviderApiFactory


def provider_api(
    outbound: OutboundHttp,
    *,
    sleep: Sleep = asyncio.sleep,
    max_attempts: int = MAX_ATTEMPTS,
) -> ProviderApiFactory:
    """The factory: (integration, opened credentials) -> its API, or None when its
    provider has no API, it has no `api_base_url`, or a credential is missing."""

    def make(integration: Integration, credentials: Mapping[str, str]) -> ProviderApi | None:
        needed = API_CREDENTIALS.get(integration.provider)
        base_url = integration.settings.get("api_base_url")
        if needed is None or not isinstance(base_url, str) or not base_url:
            return None
        if any(not credentials.get(name) for name in needed):
            return None
        client = ApiClient(
            outbound.client(),
            base_url,
            integration.provider.value,
            sleep=sleep,
            max_attempts=max_attempts,
        )
        if integration.provider is Provider.NINJAONE:
            return NinjaOneApi(client, credentials["client_id"], credentials["client_secret"])
        return TacticalApi(client, credentials["api_key"])

    return make
