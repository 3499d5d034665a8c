"""Adapters: everything that talks to the world (storage, crypto, network)."""
