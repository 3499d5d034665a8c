"""Prometheus Alertmanager webhook receiver payloads (version 4)."""

from fleetward.adapters.providers.alertmanager.normalize import normalize

__all__ = ["normalize"]
