"""The agent's version: the installed package's, as the server lists it and updates compare it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def agent_version() -> str:
    try:
        return version("fleetward")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0"
