"""Run the registered benchmarks: baselines first, then figures; print and save the table."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sqlite3
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.core import REGISTRY, Benchmark, RunConfig

# Every module that registers benchmarks; add a new one here.
BENCHMARK_MODULES = (
    "bench.baselines",
    "bench.fleetward_figures",
    "bench.dashboard_figures",
    "bench.pipeline_figures",
    "bench.timeline_figures",
    "bench.agent_figures",
    "bench.sync_figures",
)
# Cores used by other processes during a load window above which its figure is flagged.
NOISY_OTHER_CPU = 0.3
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass(slots=True)
class Result:
    name: str
    kind: str  # baseline | figure
    unit: str
    value: float | None = None
    seconds: float = 0.0  # wall time of the whole benchmark, setup included
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    baseline: str | None = None
    baseline_value: float | None = None
    ratio: float | None = None
    target: float | None = None
    limit: float | None = None
    verdict: str | None = None  # PASS | BELOW (ratio under target) | ABOVE (value over limit)


def load_registry() -> dict[str, Benchmark]:
    for module in BENCHMARK_MODULES:
        importlib.import_module(module)
    for bench in REGISTRY.values():
        if bench.baseline is None:
            continue
        base = REGISTRY.get(bench.baseline)
        if base is None or not base.is_baseline:
            raise ValueError(f"{bench.name}: {bench.baseline!r} is not a registered baseline")
        if base.unit != bench.unit:
            raise ValueError(f"{bench.name} is in {bench.unit}, its baseline in {base.unit}")
    return REGISTRY


def select(registry: dict[str, Benchmark], names: list[str]) -> list[Benchmark]:
    """The named benchmarks plus the baselines they need; baselines first, registry order."""
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise KeyError(", ".join(unknown))
    wanted = set(names or registry)
    wanted |= {b.baseline for b in registry.values() if b.name in wanted and b.baseline}
    chosen = [b for b in registry.values() if b.name in wanted]
    return [b for b in chosen if b.is_baseline] + [b for b in chosen if not b.is_baseline]


def run_one(bench: Benchmark, cfg: RunConfig, done: dict[str, Result]) -> Result:
    result = Result(bench.name, "baseline" if bench.is_baseline else "figure", bench.unit)
    result.baseline, result.target, result.limit = bench.baseline, bench.target, bench.limit
    started = time.perf_counter()
    try:
        measured = bench.fn(cfg)
        result.value, result.detail = measured.value, measured.detail
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc(file=sys.stderr)
        result.error = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    result.seconds = time.perf_counter() - started
    if bench.limit is not None and result.value is not None:
        result.verdict = "PASS" if result.value <= bench.limit else "ABOVE"
    base = done.get(bench.baseline) if bench.baseline else None
    if base is not None and base.value:
        result.baseline_value = base.value
        if result.value is not None:
            result.ratio = result.value / base.value
            if result.target is not None:
                result.verdict = "PASS" if result.ratio >= result.target else "BELOW"
    return result


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _target(r: Result) -> str:
    if r.limit is not None:
        return f"<= {r.limit:.2f} {r.unit}"
    if r.target is not None:
        return f">= {r.target:.2f}"
    return "-" if r.baseline else ""


def format_table(results: list[Result]) -> str:
    header = ("figure", "value", "unit", "baseline", "baseline value", "ratio", "target", "result")
    rows = [header]
    for r in results:
        rows.append(
            (
                r.name,
                "ERROR" if r.error else _number(r.value),
                r.unit,
                r.baseline or ("(absolute)" if r.kind == "figure" else "(baseline)"),
                _number(r.baseline_value) if r.baseline else "",
                f"{r.ratio:.2f}" if r.ratio is not None else ("-" if r.baseline else ""),
                _target(r),
                r.verdict or ("-" if r.kind == "figure" else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {1, 4, 5}  # numbers line up on the right
    lines = []
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    errors = [f"{r.name}: {r.error}" for r in results if r.error]
    busy = [
        f"{r.name}: other processes kept {r.detail['other_cpu']:.2f} cores busy during it"
        for r in results
        if r.detail.get("other_cpu", 0.0) > NOISY_OTHER_CPU
    ]
    lines += ["", "errors:", *errors] if errors else []
    lines += ["", "noisy (re-run when the machine is quiet):", *busy] if busy else []
    return "\n".join(lines)


def write_json(path: Path, results: list[Result], cfg: RunConfig, started: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "config": asdict(cfg),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "sqlite": sqlite3.sqlite_version,
        },
        "results": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    registry = load_registry()
    if args.list:
        for b in registry.values():
            against = f"vs {b.baseline}" if b.baseline else "baseline"
            print(f"{b.name:32} {b.unit:8} {against:24} {b.description}")
        return 0
    try:
        chosen = select(registry, args.names)
    except KeyError as exc:
        print(f"unknown benchmark(s): {exc.args[0]}; see --list", file=sys.stderr)
        return 2
    cfg = RunConfig.for_run(args.quick)
    started = datetime.now(UTC)
    done: dict[str, Result] = {}
    for i, bench in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {bench.name} ...", file=sys.stderr, flush=True)
        r = done[bench.name] = run_one(bench, cfg, done)
        outcome = r.error or f"{_number(r.value)} {r.unit}"
        print(f"    {outcome} ({r.seconds:.1f} s)", file=sys.stderr, flush=True)
    results = list(done.values())
    print(format_table(results))
    write_json(args.output, results, cfg, started)
    print(f"\nresults written to {args.output}")
    return 1 if any(r.error for r in results) else 0
