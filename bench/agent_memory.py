"""Agent memory while shipping: the real agent process, 1,000,000 events, peak RSS.

`measure_agent_memory(events)` runs `fleetward agent run --journald` with its
journalctl replaced by bench/agent_journal.py (N logind session entries, each
one timeline event), so the whole agent path runs: read the stream, classify,
append to the SQLite outbox with the cursor, read batches back, gzip, POST,
delete. The peak resident set of the agent process is its VmHWM in
/proc/<pid>/status (the kernel's own high-water mark, so no peak is missed
between samples); the stand-in journalctl is a separate process and not counted.

The events go to a small HTTP sink on 127.0.0.1 (enrolment -> 201, batches ->
200 with the counts), not to a real Fleetward: what is measured is the agent,
and a real server ingesting 1,000,000 events into SQLite on the same two cores
would take most of the time budget and compete with the agent for CPU. The sink
still decodes every batch and checks that each event arrives (it marks each
event number in a bitmap), so a lost or repeated event shows in the result.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TARGET_MB = 100.0
TIME_LIMIT_S = 170.0
ROOT = Path(__file__).resolve().parents[1]


class _Sink:
    def __init__(self, events: int) -> None:
        self.seen = bytearray(events)
        self.received = 0
        self.repeated = 0
        self.batches = 0
        self.lock = threading.Lock()

    def take(self, items: list[dict[str, Any]]) -> None:
        with self.lock:
            self.batches += 1
            for item in items:
                record_id = str(item.get("event_record_id", ""))
                if not record_id.startswith("s=bench;i="):
                    continue  # the agent's own agent_started
                n = int(record_id.rsplit("=", 1)[1])
                if self.seen[n]:
                    self.repeated += 1
                else:
                    self.seen[n] = 1
                    self.received += 1


def _handler(sink: _Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # the agent's WebSocket: no control channel here
            self._answer(404, {"error": {"code": "not_found", "message": "no channel"}})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/api/v1/agent/enroll":
                self._answer(201, {"agent_id": "bench-agent", "agent_key": "fwa_bench"})
                return
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            body = json.loads(raw)
            items = body.get("events") or body.get("matches") or []
            sink.take(items)
            self._answer(200, {"accepted": len(items), "duplicates": 0})

    return Handler


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status (not Linux?)")


AGENT_COMMANDS = {
    # The agent's own entry point: what a service runs (docs/agent.md).
    "module": [sys.executable, "-m", "fleetward.entrypoints.agent_main", "run"],
    # The same command through the `fleetward` console script (entrypoints/command.py).
    "cli": [str(Path(sys.executable).with_name("fleetward")), "agent", "run"],
}


def measure_agent_memory(events: int = 1_000_000, entry: str = "module") -> dict[str, Any]:
    """Run the agent until `events` events reached the sink; its peak RSS and the run's figures.

    `entry` is "module" (`python -m fleetward.entrypoints.agent_main run`, as the
    service files in docs/agent.md start it) or "cli" (`fleetward agent run`).
    """
    sink = _Sink(events)
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
    server_thread = threading.Thread(target=http.serve_forever, daemon=True)
    server_thread.start()
    url = f"http://127.0.0.1:{http.server_address[1]}"
    journalctl = f"{sys.executable} -m bench.agent_journal {events}"
    with tempfile.TemporaryDirectory(prefix="fleetward-agent-bench-") as scratch:
        command = [
            *AGENT_COMMANDS[entry], "--server", url, "--token", "fwe_bench",
            "--state-dir", str(Path(scratch) / "state"), "--journald", "--journalctl", journalctl,
            "--poll-seconds", "1", "--no-channel", "--log-level", "WARNING",
            # Room for the whole run: collection may run ahead of shipping, and
            # an overflow would be reported, not shipped.
            "--outbox-capacity", str(events + 1_000),
        ]  # fmt: skip
        log_path = Path(scratch) / "agent.log"
        started = time.monotonic()
        with log_path.open("wb") as log:
            agent = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=dict(os.environ)
            )
            try:
                while sink.received < events:
                    if agent.poll() is not None:
                        raise RuntimeError(f"the agent exited: {log_path.read_text()[-2000:]}")
                    if time.monotonic() - started > TIME_LIMIT_S:
                        raise RuntimeError(
                            f"only {sink.received} of {events} events in {TIME_LIMIT_S:.0f} s"
                        )
                    time.sleep(0.2)
                seconds = time.monotonic() - started
                peak = _peak_rss_mb(agent.pid)
            finally:
                if agent.poll() is None:
                    agent.send_signal(signal.SIGTERM)
                    try:
                        agent.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        agent.kill()
                        agent.wait()
                http.shutdown()
                server_thread.join(timeout=5)
    return {
        "events": events,
        "delivered": sink.received,
        "repeated": sink.repeated,
        "batches": sink.batches,
        "seconds": round(seconds, 1),
        "events_per_second": round(events / seconds),
        "peak_rss_mb": round(peak, 1),
        "target_mb": TARGET_MB,
        "ok": peak < TARGET_MB and sink.received == events,
        "entry": " ".join(AGENT_COMMANDS[entry][-2:]),
        "sink": "HTTP sink on 127.0.0.1 (decodes and checks every event)",
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(measure_agent_memory(count, sys.argv[2] if len(sys.argv) > 2 else "module")))
