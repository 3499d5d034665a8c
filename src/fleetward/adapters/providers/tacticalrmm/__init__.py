"""Tactical RMM alert-template web hooks, in the body documented in docs/providers."""

from fleetward.adapters.providers.tacticalrmm.normalize import normalize

__all__ = ["normalize"]
