"""Fleetward's benchmark harness: each figure next to a baseline measured in the same run.

Running (from the repository root)::

    .venv/bin/python -m bench                    # everything (what `make bench` runs)
    .venv/bin/python -m bench fleetward_healthz  # a subset; needed baselines come along
    .venv/bin/python -m bench --quick            # tiny sizes, a smoke run of the harness
    .venv/bin/python -m bench --list             # names, units, baselines

It prints one table (figure, value, unit, baseline, baseline value, ratio =
value / baseline, target, PASS/BELOW) and writes it as JSON to
bench/results/latest.json (git-ignored; `--output FILE` writes elsewhere).
Ratios are printed, never enforced: the exit status is 0 unless a benchmark
crashed (1), or a name is unknown (2). Absolute numbers depend on the machine;
compare ratios.

Layout:

- core.py: the registry (`@baseline`, `@figure`), `RunConfig` (sizes; `--quick`),
  `Measurement` (what a benchmark returns), `scratch_dir`.
- runner.py: selection, ordering (baselines first), the table, the JSON.
- baselines.py: raw_sqlite_insert, raw_sqlite_duplicate_insert, trivial_http (8
  connections) and trivial_http_sequential (one connection, for figures of one
  sender).
- fleetward_figures.py: figures against the real app.
- dashboard_figures.py: the dashboard's reads (API alert and client lists, the
  alerts page) on a tenant of 200 clients and 10,000 alerts that
  dashboard_server.py seeds once per run; one reader each.
- loadgen.py: `LoadSpec` + `measure_http`: a keep-alive HTTP/1.1 load generator
  in its own process, fixed concurrency, warm-up then a timed window, counts
  2xx only, bounded in time and count, 127.0.0.1 only.
- servers.py: `running_server(module, *args)` starts a server module in a
  subprocess (uvicorn, one worker, default loop/HTTP implementation, access
  log off), reads its JSON ready line and always stops it; `serve()` and
  `child_parser()` are the child side.
- trivial_server.py, fleetward_server.py: the servers (the latter builds the
  real app on a fresh SQLite file with a tenant, admin, API key and clients).

Adding a figure: write a function `(cfg: RunConfig) -> Measurement` in
fleetward_figures.py (or a new module listed in runner.BENCHMARK_MODULES),
decorated with `@figure("name", unit="req/s", baseline="trivial_http",
target=0.25)`; its first docstring line is its `--list` description. The unit
must match the baseline's. For HTTP::

    @figure("webhook_triggers", unit="req/s", baseline="trivial_http_sequential", target=0.25)
    def webhook_triggers(cfg: RunConfig) -> Measurement:
        \"\"\"POST distinct webhook triggers that each create an alert.\"\"\"
        with running_server("bench.fleetward_server") as server:
            spec = spec_for(cfg, server, "/api/v1/webhooks/...", method="POST",
                            headers={...}, body=functools.partial(trigger_body, ...),
                            concurrency=1)
            result = measure_http(spec)
        return result.measurement(server=server.describe())

`body` is called with the request's sequence number in the load generator's
process, so it must be picklable: a module-level function or a partial of
one. (That process is started with multiprocessing's "spawn", so a script of
your own that calls `measure_http` needs the usual `if __name__ == "__main__"`
guard.) Extra setup the server needs (an integration, rules) belongs in the
server module before `serve()`, handing secrets back through its ready line
(`server.info`). Use `cfg` sizes so `--quick` stays quick, and raise
`BenchError` rather than return a number built on failures
(`LoadResult.measurement()` already refuses non-2xx answers and errors). A new
baseline is the same with `@baseline("name", unit=...)` in baselines.py.
"""
