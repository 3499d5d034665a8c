"""NinjaOne condition webhooks (activity notifications)."""

from fleetward.adapters.providers.ninjaone.normalize import normalize

__all__ = ["normalize"]
