"""The dashboard's reads (issue 16): the API's alert and client lists with an API key,
and the alerts page with a session, on a tenant of realistic size.

Each is one reader asking again as soon as it is answered, over one keep-alive
connection, against trivial_http_sequential measured the same way in the same
run. The data (200 clients with their sites, 10,000 alerts through the real
webhook pipeline: bench/dashboard_server.py) is seeded once per run and every
figure serves its own copy of it.
"""

from __future__ import annotations

import atexit
import functools
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.core import BenchError, Measurement, RunConfig, figure
from bench.loadgen import measure_http, spec_for
from bench.servers import REPO_ROOT, running_server

SERVER = "bench.dashboard_server"
CLIENTS, ALERTS = 200, 10_000
QUICK_CLIENTS, QUICK_ALERTS = 5, 50
SEED_TIMEOUT = 300.0
SESSION_COOKIE = "fw_session"  # entrypoints/http/deps.py


@functools.cache
def _seeded(quick: bool) -> Path:
    """A seeded data directory, made on first use and removed when the run ends."""
    holder = tempfile.TemporaryDirectory(prefix="fleetward-bench-dashboard-")
    atexit.register(holder.cleanup)
    directory = Path(holder.name)
    clients, alerts = (QUICK_CLIENTS, QUICK_ALERTS) if quick else (CLIENTS, ALERTS)
    command = [sys.executable, "-m", SERVER, "--scratch-dir", str(directory)]
    command += ["--clients", str(clients), "--alerts", str(alerts), "--seed-only", str(directory)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=SEED_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"seeding failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return directory


def _read(cfg: RunConfig, path: str, credentials: str) -> Measurement:
    """GET `path` over one connection, authenticated by the API key ("api_key") or the
    browser session ("session")."""
    data = _seeded(cfg.quick)
    with running_server(SERVER, "--data-from", str(data)) as server:
        info: dict[str, Any] = server.info
        if credentials == "api_key":
            headers = {"Authorization": f"Bearer {info['api_key']}"}
        else:
            headers = {"Cookie": f"{SESSION_COOKIE}={info['session']}"}
        result = measure_http(spec_for(cfg, server, path, headers=headers, concurrency=1))
    return result.measurement(
        server=server.describe(),
        concurrency=1,
        clients=info["clients"],
        alerts=info["alerts"],
    )


@figure("dashboard_api_alerts", unit="req/s", baseline="trivial_http_sequential", target=0.25)
def dashboard_api_alerts(cfg: RunConfig) -> Measurement:
    """GET /api/v1/alerts?limit=50 with an API key, of 10,000 alerts (counted), one reader."""
    return _read(cfg, "/api/v1/alerts?limit=50", "api_key")


@figure("dashboard_api_clients", unit="req/s", baseline="trivial_http_sequential", target=0.25)
def dashboard_api_clients(cfg: RunConfig) -> Measurement:
    """GET /api/v1/clients with an API key, of 200 clients with sites, one reader."""
    return _read(cfg, "/api/v1/clients", "api_key")


@figure("dashboard_alerts_page", unit="req/s", baseline="trivial_http_sequential", target=0.1)
def dashboard_alerts_page(cfg: RunConfig) -> Measurement:
    """GET /alerts (the page, 50 of 10,000 alerts, counted) with a session, one reader."""
    return _read(cfg, "/alerts", "session")
