"""The agent's own figure: its peak memory while it ships a large backlog."""

from __future__ import annotations

from bench.agent_memory import TARGET_MB, measure_agent_memory
from bench.core import Measurement, RunConfig, figure

EVENTS = 1_000_000


@figure("agent_rss_1m_events", unit="MB", limit=TARGET_MB)
def agent_rss(cfg: RunConfig) -> Measurement:
    """Peak RSS of `fleetward agent run` collecting and shipping 1,000,000 journald events."""
    result = measure_agent_memory(20_000 if cfg.quick else EVENTS, entry="cli")
    if result["repeated"]:  # every event once: a figure of a wrong run means nothing
        raise AssertionError(f"{result['repeated']} events reached the sink twice")
    return Measurement(result["peak_rss_mb"], result)
