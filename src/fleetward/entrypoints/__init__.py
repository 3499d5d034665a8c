"""Entrypoints: thin translations of HTTP, CLI and agent input into service calls."""
