"""Fleetward's own JSON shape, for senders without a dedicated normaliser."""

from fleetward.adapters.providers.generic.normalize import normalize

__all__ = ["normalize"]
