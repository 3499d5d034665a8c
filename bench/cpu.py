"""CPU use over a measured window, from /proc: who was busy while we measured.

On a small shared machine a figure means little without knowing whether the
server had a core to itself. Outside Linux the samples are simply absent.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class CpuSample:
    at: float  # time.monotonic()
    own: float  # this process's CPU seconds
    watched: float | None  # the watched process's CPU seconds (all its threads)
    machine_busy: float | None  # CPU seconds all cores spent not idle


def _process_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _machine_busy_seconds() -> float | None:
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / _TICK


def sample(watched_pid: int | None) -> CpuSample:
    watched = _process_seconds(watched_pid) if watched_pid is not None else None
    return CpuSample(time.monotonic(), time.process_time(), watched, _machine_busy_seconds())


def usage(start: CpuSample, end: CpuSample) -> dict[str, float]:
    """Cores in use on average between the samples: ours, the watched process's, the rest."""
    elapsed = end.at - start.at
    if elapsed <= 0:
        return {}
    own = (end.own - start.own) / elapsed
    out = {"client_cpu": round(own, 2)}
    watched = 0.0
    if start.watched is not None and end.watched is not None:
        watched = (end.watched - start.watched) / elapsed
        out["server_cpu"] = round(watched, 2)
    if start.machine_busy is not None and end.machine_busy is not None:
        busy = (end.machine_busy - start.machine_busy) / elapsed
        # Everything else on the machine: other people's tests, the parent, the kernel.
        out["other_cpu"] = round(max(0.0, busy - own - watched), 2)
    return out
