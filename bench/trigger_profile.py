"""Where a webhook trigger's time goes, in process: its SQL statements and a profile.

    PYTHONPATH=src python -m bench.trigger_profile [--triggers 2000] [--profile FILE]

Sets up what bench/pipeline_server.py serves (one NinjaOne integration, a
catch-all rule), sends warm-up triggers through `container.webhooks.receive`,
then prints every statement SQLite ran for one more trigger (traced on the
driver, so the statements hot_sql runs past SQLAlchemy count too),
the time per trigger over a few unprofiled rounds (the best round is the
figure to compare: the machine is noisy), and a cProfile of `--triggers`
more, sent one after another as webhook_triggers sends them. Only the
bodies and the setup are shared with the figures; run it with another
commit's src on PYTHONPATH to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool

from bench.pipeline_bodies import ninja_trigger
from bench.pipeline_server import ninja_with_catch_all_rule
from fleetward.bootstrap import build
from fleetward.config import Settings

WARM_UP = 200
traced: list[str] | None = None  # the statements run while tracing, else None


def _trace(sql: str) -> None:
    if traced is not None:
        traced.append(" ".join(sql.split()))


@event.listens_for(Pool, "connect")
def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.set_trace_callback(_trace)


def main() -> None:
    global traced
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--triggers", type=int, default=2000)
    parser.add_argument("--profile", type=Path, help="also write the raw profile here")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--rounds", type=int, default=5, help="timed rounds of --triggers/5 without the profiler"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        container = build(Settings(data_dir=Path(scratch) / "data"), migrate_schema=True)
        try:
            integration_id, headers = ninja_with_catch_all_rule(container)

            async def send(first: int, count: int) -> None:
                for seq in range(first, first + count):
                    answer = await container.webhooks.receive(
                        integration_id, ninja_trigger(seq), headers
                    )
                    assert answer.outcome.result.value == "created", answer

            asyncio.run(send(0, WARM_UP))
            traced = []
            asyncio.run(send(WARM_UP, 1))
            statements, traced = traced, None
            print(f"{len(statements)} statements for one trigger that opens a ticket:")
            for number, sql in enumerate(statements, 1):
                print(f"{number:3d}. {sql[:160]}")
            first = WARM_UP + 1
            per_round = max(1, args.triggers // 5)
            timings = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                asyncio.run(send(first, per_round))
                timings.append((time.perf_counter() - started) / per_round)
                first += per_round
            print(
                f"\nunprofiled, {args.rounds} rounds of {per_round}: per trigger "
                + ", ".join(f"{t * 1e6:.0f}" for t in timings)
                + f" us (best {min(timings) * 1e6:.0f} us)"
            )
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            asyncio.run(send(first, args.triggers))
            profiler.disable()
            seconds = time.perf_counter() - started
            print(
                f"\n{args.triggers} triggers in {seconds:.2f} s under cProfile "
                f"({seconds / args.triggers * 1e6:.0f} us each)"
            )
            if args.profile:
                profiler.dump_stats(str(args.profile))
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
        finally:
            container.close()


if __name__ == "__main__":
    main()
