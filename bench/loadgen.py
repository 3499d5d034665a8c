"""A small HTTP/1.1 keep-alive load generator that runs in its own process.

Raw asyncio streams (on uvloop) rather than an HTTP client library: on a
two-core machine the generator shares the CPU with the server, and a heavier
client would cap the trivial baseline and flatter every ratio. Each request
may carry a distinct body (`LoadSpec.body(n)` for the n-th request), the run
is bounded in time and count, and only 127.0.0.1 may be targeted.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bench import cpu
from bench.core import BenchError, Measurement, RunConfig

if TYPE_CHECKING:
    from bench.servers import RunningServer

BodyFactory = Callable[[int], bytes]
MAX_DURATION = 120.0
MAX_CONCURRENCY = 256
# Give up on a connection after this many failures in a row rather than spin on it.
MAX_CONSECUTIVE_ERRORS = 3


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """One load run. `body` must be picklable (a module-level function or a partial of one)."""

    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: BodyFactory | None = None
    concurrency: int = 8
    warmup: float = 1.0
    duration: float = 5.0
    max_requests: int = 1_000_000
    request_timeout: float = 10.0
    # The server's pid, to report its CPU use over the window (diagnostics only).
    server_pid: int | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(
                f"the load generator only targets http://127.0.0.1:PORT, not {self.url}"
            )
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be 1..{MAX_CONCURRENCY}")
        if self.warmup < 0 or self.duration <= 0 or self.warmup + self.duration > MAX_DURATION:
            raise ValueError(f"warm-up plus duration must be within (0, {MAX_DURATION}] seconds")
        if self.max_requests < 1 or self.request_timeout <= 0:
            raise ValueError("max_requests and request_timeout must be positive")


def spec_for(cfg: RunConfig, server: RunningServer, path: str, **overrides: Any) -> LoadSpec:
    """A run against `server` with the run's concurrency and durations; override what differs."""
    base = LoadSpec(
        server.url(path),
        concurrency=cfg.http_concurrency,
        warmup=cfg.http_warmup,
        duration=cfg.http_duration,
        server_pid=server.pid,
    )
    return replace(base, **overrides)


@dataclass(slots=True)
class LoadResult:
    ok: int  # 2xx responses completed inside the measured window
    non_2xx: int
    errors: int  # timeouts, resets, refused connections (any time in the run)
    seconds: float  # length of the measured window actually used
    statuses: dict[int, int]
    error_samples: list[str]
    # Cores busy on average over the window: client_cpu near 1.0 means the generator
    # was the bottleneck; server_cpu well under 1.0 means the server waited or was starved.
    cpu: dict[str, float]
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def require_ok(self) -> None:
        """Refuse a figure built on failures: every answer in the window must be 2xx."""
        if self.ok == 0 or self.non_2xx or self.errors:
            raise BenchError(
                f"load run not clean: {self.ok} ok, {self.non_2xx} non-2xx {self.statuses}, "
                f"{self.errors} errors {self.error_samples}"
            )

    def measurement(self, **extra: Any) -> Measurement:
        """The figure: 2xx responses per second, once the run is known to be clean."""
        self.require_ok()
        return Measurement(self.rate, {**self.detail(), **extra})

    def detail(self) -> dict[str, Any]:
        return {
            "requests_ok": self.ok,
            "seconds": round(self.seconds, 3),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            **self.cpu,
        }


@dataclass(slots=True)
class _State:
    spec: LoadSpec
    measure_start: float
    end: float
    issued: int = 0
    ok: int = 0
    non_2xx: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(f"{type(exc).__name__}: {exc}")


def _request_head(spec: LoadSpec) -> tuple[str, int, bytes]:
    parts = urlsplit(spec.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{spec.method} {path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in spec.headers.items()]
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port, ("\r\n".join(lines) + "\r\n").encode("latin-1")


async def _read_response(reader: asyncio.StreamReader, has_body: bool) -> tuple[int, bool]:
    """Read one response; answer (status, whether the server will close the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    closing = b"\r\nconnection: close" in lower
    marker = lower.find(b"\r\ncontent-length:")
    if not has_body:  # an answer to HEAD announces a length it does not send
        pass
    elif marker >= 0:
        end = lower.index(b"\r\n", marker + 2)
        await reader.readexactly(int(lower[marker + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif status >= 200 and status not in (204, 304):
        raise ValueError("response without Content-Length or chunked body")
    return status, closing


async def _worker(state: _State, host: str, port: int, head: bytes) -> None:
    spec, loop = state.spec, asyncio.get_running_loop()
    # Without a body factory every request is the same bytes; non-GET ones say "no body".
    bare = head + (b"\r\n" if spec.method in ("GET", "HEAD") else b"Content-Length: 0\r\n\r\n")
    has_body = spec.method != "HEAD"
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    failures = 0
    try:
        while loop.time() < state.end and state.issued < spec.max_requests:
            n = state.issued
            state.issued += 1
            if spec.body is None:
                request = bare
            else:
                body = spec.body(n)
                request = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
            started = time.perf_counter()
            try:
                async with asyncio.timeout(spec.request_timeout):
                    if writer is None or reader is None:
                        reader, writer = await asyncio.open_connection(host, port)
                    writer.write(request)
                    status, closing = await _read_response(reader, has_body)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                state.error(exc)
                if writer is not None:
                    writer.close()
                reader = writer = None
                failures += 1
                if failures >= MAX_CONSECUTIVE_ERRORS:
                    return
                continue
            failures = 0
            done = loop.time()
            if state.measure_start <= done <= state.end:
                state.statuses[status] += 1
                if 200 <= status < 300:
                    state.ok += 1
                    state.latencies.append(time.perf_counter() - started)
                else:
                    state.non_2xx += 1
            if closing and writer is not None:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def run_load(spec: LoadSpec) -> LoadResult:
    """Drive the server from this process; `measure_http` runs this in a separate one."""
    host, port, head = _request_head(spec)
    loop = asyncio.get_running_loop()
    measure_start = loop.time() + spec.warmup
    state = _State(spec, measure_start, measure_start + spec.duration)
    samples: list[cpu.CpuSample] = []

    async def sample_window() -> None:
        await asyncio.sleep(spec.warmup)
        samples.append(cpu.sample(spec.server_pid))
        await asyncio.sleep(spec.duration)
        samples.append(cpu.sample(spec.server_pid))

    sampler = asyncio.create_task(sample_window())
    # A hard ceiling over the whole run: in-flight requests may not outlive it by much.
    async with asyncio.timeout(spec.warmup + spec.duration + spec.request_timeout):
        await asyncio.gather(*(_worker(state, host, port, head) for _ in range(spec.concurrency)))
    sampler.cancel()
    if len(samples) == 1:  # the run ended early (max_requests)
        samples.append(cpu.sample(spec.server_pid))
    finished = min(loop.time(), state.end)
    seconds = max(0.0, finished - measure_start)
    lat = sorted(state.latencies)
    return LoadResult(
        ok=state.ok,
        non_2xx=state.non_2xx,
        errors=state.errors,
        seconds=seconds,
        statuses=dict(state.statuses),
        error_samples=state.error_samples,
        cpu=cpu.usage(*samples) if len(samples) == 2 else {},
        p50_ms=statistics.median(lat) * 1000 if lat else 0.0,
        p99_ms=lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0,
    )


def _child(spec: LoadSpec, out: Connection) -> None:
    import uvloop  # the server's loop too; imported here so the parent never needs it

    try:
        out.send(uvloop.run(run_load(spec)))
    except BaseException as exc:
        out.send(BenchError(f"load generator failed: {type(exc).__name__}: {exc}"))
        raise
    finally:
        out.close()


def measure_http(spec: LoadSpec) -> LoadResult:
    """Run `spec` from a fresh process on this machine and return what it counted."""
    ctx = multiprocessing.get_context("spawn")  # no forked copy of the parent's state
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(spec, sender), name="bench-loadgen", daemon=True)
    proc.start()
    sender.close()
    result: object = None
    try:
        # Spawning and importing take a moment; the run itself is bounded inside the child.
        limit = spec.warmup + spec.duration + spec.request_timeout + 30.0
        if not receiver.poll(limit):
            raise BenchError(f"load generator gave no result within {limit:.0f} s")
        result = receiver.recv()
    except EOFError:
        pass  # the child died without a word; its exit code says more once it is reaped
    finally:
        receiver.close()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    if result is None:
        raise BenchError(f"load generator died (exit code {proc.exitcode})")
    if isinstance(result, BaseException):
        raise result
    if not isinstance(result, LoadResult):
        raise BenchError(f"load generator answered {type(result).__name__}")
    return result
