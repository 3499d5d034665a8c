"""Settings for tests whose Fleetward calls out to servers of their own on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from fleetward.config import Settings


def loopback_settings(database_url: str, tmp_path: Path) -> Settings:
    """The suite's usual settings, with outbound calls to 127.0.0.0/8 allowed: the fake
    providers and receivers listen there, which the outbound policy otherwise refuses."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        log_json=True,
        outbound_allow_cidrs="127.0.0.0/8",
    )
