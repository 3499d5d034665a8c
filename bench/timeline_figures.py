"""Timeline intake figures: batches of 1,000 events posted by an agent over HTTP."""

from __future__ import annotations

import functools

from bench.core import Measurement, RunConfig, figure
from bench.loadgen import BodyFactory, measure_http, spec_for
from bench.servers import running_server
from bench.timeline_bodies import BATCH, timeline_batch, timeline_replay

SERVER = "bench.timeline_server"
REPLAY_SET = 50


def _post_batches(cfg: RunConfig, server_args: tuple[str, ...], body: BodyFactory) -> Measurement:
    with running_server(SERVER, *server_args) as server:
        spec = spec_for(
            cfg,
            server,
            server.info["path"],
            method="POST",
            headers={
                "Authorization": f"Bearer {server.info['key']}",
                "Content-Type": "application/json",
            },
            body=body,
        )
        result = measure_http(spec)
    result.require_ok()
    # Rows, not requests: the baselines are SQLite rows/s.
    detail = {**result.detail(), "batch": BATCH, "req_per_s": round(result.rate, 2)}
    return Measurement(result.rate * BATCH, {**detail, "server": server.describe()})


@figure("timeline_intake", unit="rows/s", baseline="raw_sqlite_insert", target=0.5)
def timeline_intake(cfg: RunConfig) -> Measurement:
    """New timeline events, 1,000 a request, stored by an enrolled agent's POSTs."""
    return _post_batches(cfg, (), timeline_batch)


@figure("timeline_replay", unit="rows/s", baseline="raw_sqlite_duplicate_insert", target=0.5)
def timeline_replay_figure(cfg: RunConfig) -> Measurement:
    """The same batches again: every event a duplicate, answered without a change."""
    preload = 2 if cfg.quick else REPLAY_SET
    body = functools.partial(timeline_replay, preload)
    return _post_batches(cfg, ("--preload", str(preload)), body)
