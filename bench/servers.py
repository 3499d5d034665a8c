"""Servers under test, each in its own process, served the way Fleetward is served.

Parent side: `running_server("bench.some_module", *args)` starts
`python -m bench.some_module --port 0 --scratch-dir TMP *args`, waits for its one ready line
and always stops it. Child side: that module builds its ASGI app and calls
`serve(app, info)`: uvicorn, one worker, default ("auto") loop and HTTP
implementation (uvloop and httptools here), uvicorn's access log off, and the
garbage-collector settings `fleetward serve` uses (entrypoints/runtime.py).

The child binds and listens on 127.0.0.1 *before* it reports ready, so the
parent needs no polling: connections made before uvicorn accepts wait in the
listen backlog. Binding port 0 there also avoids racing for a free port.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import BenchError, scratch_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


@dataclass(frozen=True, slots=True)
class RunningServer:
    port: int
    info: dict[str, Any]  # everything the child put in its ready line (e.g. an API key)
    log: Path  # the child's stderr

    def url(self, path: str = "/") -> str:
        return f"http://{HOST}:{self.port}{path}"

    @property
    def pid(self) -> int:
        return int(self.info["pid"])

    def describe(self) -> str:
        return f"uvicorn {self.info.get('loop')}/{self.info.get('http')}"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _read_ready_line(proc: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT
    buffer = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"server not ready within {READY_TIMEOUT:.0f} s\n{_tail(log)}")
            if not sel.select(remaining):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                code = proc.wait(timeout=STOP_TIMEOUT)
                raise BenchError(f"server exited with {code} before ready\n{_tail(log)}")
            buffer += chunk
    info: dict[str, Any] = json.loads(buffer.split(b"\n", 1)[0])
    return info


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the harness itself is killed (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # uvicorn shuts down cleanly on SIGTERM
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@contextmanager
def running_server(module: str, *args: str) -> Iterator[RunningServer]:
    """Run `python -m module --port 0 --scratch-dir TMP *args`; always stopped on exit.

    TMP is a fresh directory removed afterwards: the place for the child's database.
    """
    with scratch_dir("server") as tmp:
        log = tmp / "server.log"
        with log.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, "--port", "0", "--scratch-dir", str(tmp), *args],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                preexec_fn=_die_with_parent,  # safe: the harness starts no threads
            )
        try:
            info = _read_ready_line(proc, log)
            yield RunningServer(int(info["port"]), info, log)
            if proc.poll() is not None:
                raise BenchError(f"server died during the run\n{_tail(log)}")
        finally:
            _stop(proc)


# Child side -----------------------------------------------------------------


def _loop_name(setting: str) -> str:
    if setting != "auto":
        return setting
    # What uvicorn's "auto" picks: uvloop when it can be imported.
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def serve(app: Any, port: int, info: dict[str, Any] | None = None) -> None:
    """Listen on 127.0.0.1:port, print one JSON ready line, then serve until SIGTERM."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(2048)  # uvicorn's default backlog
    from fleetward.entrypoints.runtime import tune_gc_for_serving

    config = uvicorn.Config(app, workers=1, access_log=False, log_level="warning")
    config.load()
    # As `fleetward serve` does, for every server here, the baselines' included.
    tune_gc_for_serving()
    ready = {
        "port": sock.getsockname()[1],
        "pid": os.getpid(),
        "http": config.http_protocol_class.__name__,
        "loop": _loop_name(config.loop),
        **(info or {}),
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    # Nothing reads stdout after the ready line: send stray prints to the log, not a full pipe.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    uvicorn.Server(config).run(sockets=[sock])


def child_parser(description: str) -> argparse.ArgumentParser:
    """The command line every server module accepts (`running_server` passes --port 0)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--scratch-dir", type=Path, required=True, help="a fresh, empty directory")
    return parser
