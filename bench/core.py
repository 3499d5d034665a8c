"""The registry of benchmarks and the shapes they hand back to the runner."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class BenchError(RuntimeError):
    """A benchmark could not produce a trustworthy figure (the run then exits 1)."""


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Sizes shared by every benchmark; `quick()` is the smoke-test variant."""

    quick: bool = False
    # Rows per SQLite benchmark, written in transactions of `batch_size` rows.
    sqlite_rows: int = 200_000
    batch_size: int = 1_000
    # HTTP load: connections kept open, seconds not counted, then seconds counted.
    http_concurrency: int = 8
    http_warmup: float = 1.0
    http_duration: float = 5.0

    @classmethod
    def for_run(cls, quick: bool) -> RunConfig:
        if not quick:
            return cls()
        return cls(quick=True, sqlite_rows=5_000, http_warmup=0.2, http_duration=0.5)


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a benchmark function returns: the number, and anything that explains it."""

    value: float
    detail: dict[str, Any] = field(default_factory=dict)


BenchFn = Callable[[RunConfig], Measurement]


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    unit: str
    fn: BenchFn
    description: str
    # Set for figures: the baseline measured in the same run that the value is divided by.
    baseline: str | None = None
    # The ratio value/baseline the figure should reach; printed, never enforced.
    target: float | None = None
    # For figures with an absolute bound instead of a baseline (e.g. "under 1 ms").
    limit: float | None = None
    kind: str = "figure"  # baseline | figure

    @property
    def is_baseline(self) -> bool:
        return self.kind == "baseline"


REGISTRY: dict[str, Benchmark] = {}


def _register(bench: Benchmark) -> None:
    if bench.name in REGISTRY:
        raise ValueError(f"benchmark {bench.name!r} is registered twice")
    REGISTRY[bench.name] = bench


def baseline(name: str, unit: str) -> Callable[[BenchFn], BenchFn]:
    """Register a reference measurement that figures are compared with."""

    def decorate(fn: BenchFn) -> BenchFn:
        _register(Benchmark(name, unit, fn, _first_line(fn), kind="baseline"))
        return fn

    return decorate


def figure(
    name: str,
    unit: str,
    baseline: str | None = None,
    target: float | None = None,
    limit: float | None = None,
) -> Callable[[BenchFn], BenchFn]:
    """Register a Fleetward figure, compared with `baseline` (which must use the same unit),
    or, for a figure no baseline fits, held to an absolute `limit` (value <= limit)."""
    if (baseline is None) == (limit is None):
        raise ValueError(f"{name}: give a baseline or an absolute limit, not both or neither")

    def decorate(fn: BenchFn) -> BenchFn:
        _register(Benchmark(name, unit, fn, _first_line(fn), baseline, target, limit))
        return fn

    return decorate


def _first_line(fn: BenchFn) -> str:
    return (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory removed afterwards, even when the benchmark fails."""
    with tempfile.TemporaryDirectory(prefix=f"fleetward-bench-{prefix}-") as path:
        yield Path(path)
