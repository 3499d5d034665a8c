"""Fleetward: the operations back office of a managed service provider."""

__version__ = "0.1.0"
