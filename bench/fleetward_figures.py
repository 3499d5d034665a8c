"""Figures measured against the real Fleetward app (see bench/fleetward_server.py)."""

from __future__ import annotations

from bench.core import Measurement, RunConfig, figure
from bench.loadgen import measure_http, spec_for
from bench.servers import running_server

SERVER = "bench.fleetward_server"


@figure("fleetward_healthz", unit="req/s", baseline="trivial_http")
def fleetward_healthz(cfg: RunConfig) -> Measurement:
    """GET /healthz: the full middleware stack; the database probe's answer is
    reused for a second, so nearly every request is answered from it."""
    with running_server(SERVER) as server:
        result = measure_http(spec_for(cfg, server, "/healthz"))
    return result.measurement(server=server.describe())


@figure("fleetward_api_list_clients", unit="req/s", baseline="trivial_http")
def fleetward_api_list_clients(cfg: RunConfig) -> Measurement:
    """GET /api/v1/clients with an API key: authentication plus a page of 20 clients."""
    with running_server(SERVER, "--clients", "20") as server:
        headers = {"Authorization": f"Bearer {server.info['api_key']}"}
        result = measure_http(spec_for(cfg, server, "/api/v1/clients", headers=headers))
    return result.measurement(server=server.describe(), clients=server.info["clients"])
