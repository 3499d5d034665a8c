"""A real Prometheus Alertmanager process, and a recorder of what it delivers.

The Alertmanager is Debian's prometheus-alertmanager binary, run with a
temporary configuration and storage, clustering off, on a free local port.
Alerts are pushed to its API the way Prometheus pushes them; the recorder
wraps Fleetward's ASGI app and keeps every webhook request and answer, so a
test can see each notification Alertmanager really sent.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEBIAN_BINARY = "/usr/bin/prometheus-alertmanager"
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
# A port picked free can be taken before Alertmanager binds it; try again then.
START_ATTEMPTS = 3


def find_alertmanager() -> str | None:
    """FLEETWARD_TEST_ALERTMANAGER names another binary (e.g. an upstream build)."""
    if env := os.environ.get("FLEETWARD_TEST_ALERTMANAGER"):
        return env if Path(env).is_file() else None
    for name in ("prometheus-alertmanager", "alertmanager"):
        if path := shutil.which(name):
            return path
    return DEBIAN_BINARY if Path(DEBIAN_BINARY).is_file() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rfc3339(at: datetime) -> str:
    """Go's time.RFC3339Nano for a UTC instant, as Prometheus writes it."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def prometheus_alert(
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    starts_at: datetime,
    ends_at: datetime,
) -> dict[str, Any]:
    """One alert as Prometheus' notifier posts it to /api/v2/alerts.

    Prometheus always sends endsAt: for a firing alert a "valid until" a few
    evaluation intervals ahead (so Alertmanager resolves it if Prometheus
    dies), for a resolved one the time it resolved.
    """
    return {
        "labels": dict(labels),
        "annotations": dict(annotations),
        "startsAt": rfc3339(starts_at),
        "endsAt": rfc3339(ends_at),
        "generatorURL": "http://prometheus.test:9090/graph?g0.expr=up",
    }


def webhook_config(
    url: str,
    bearer: str,
    *,
    group_by: list[str],
    group_wait: str,
    group_interval: str,
    repeat_interval: str,
) -> dict[str, Any]:
    """An alertmanager.yml routing everything to one webhook receiver."""
    return {
        "route": {
            "receiver": "fleetward",
            "group_by": group_by,
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [
            {
                "name": "fleetward",
                "webhook_configs": [
                    {
                        "url": url,
                        "send_resolved": True,
                        "max_alerts": 0,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": bearer}},
                    }
                ],
            }
        ],
    }


@dataclass
class Alertmanager:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        answer = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5)
        assert answer.status_code == 200, f"Alertmanager refused alerts: {answer.text}"


@contextmanager
def running_alertmanager(
    binary: str, workdir: Path, config: dict[str, Any]
) -> Iterator[Alertmanager]:
    """Start Alertmanager, wait until it is ready, stop it when the block ends.

    If the block fails, Alertmanager's log is printed (pytest shows it with
    the failure), since what it sent, retried or refused is usually the clue.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yml"
    # JSON is YAML: no YAML writer needed, and the file stays readable.
    config_path.write_text(json.dumps(config, indent=2))
    manager: Alertmanager | None = None
    log_file: IO[bytes] | None = None
    try:
        for attempt in range(1, START_ATTEMPTS + 1):
            port = free_port()
            log_path = workdir / f"alertmanager-{attempt}.log"
            log_file = log_path.open("wb")
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_path}",
                    f"--storage.path={workdir / f'data-{attempt}'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    # Empty disables the gossip cluster: no peers to settle with,
                    # so notifications are not delayed waiting for them.
                    "--cluster.listen-address=",
                    "--log.level=debug",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            manager = Alertmanager(f"http://127.0.0.1:{port}", process, log_path)
            if _wait_ready(manager):
                break
            _stop(process)
            log_file.close()
            log_file = None
            if "address already in use" not in manager.log() or attempt == START_ATTEMPTS:
                raise RuntimeError(f"Alertmanager did not become ready:\n{manager.log()}")
        assert manager is not None
        try:
            yield manager
        except BaseException:
            print(f"\n----- Alertmanager log ({manager.log_path}) -----\n{manager.log()}")
            raise
    finally:
        if manager is not None:
            _stop(manager.process)
        if log_file is not None:
            log_file.close()


def _wait_ready(manager: Alertmanager) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if manager.process.poll() is not None:
            return False
        try:
            if httpx.get(f"{manager.url}/-/ready", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Delivery:
    """One webhook request Fleetward received, and its answer."""

    at: float  # time.monotonic() when the answer was sent
    headers: dict[str, str]
    request: Any
    status: int
    answer: Any

    def by_instance(self) -> dict[str, tuple[str, str]]:
        """instance label -> (Alertmanager's status, Fleetward's result), per alert."""
        alerts = self.request["alerts"]
        results = self.answer["results"]
        assert len(alerts) == len(results), (alerts, results)
        return {
            a["labels"]["instance"]: (a["status"], r["result"])
            for a, r in zip(alerts, results, strict=True)
        }


class DeliveryRecorder:
    """ASGI middleware that records requests to Fleetward's webhook endpoint.

    Counting deliveries at the door, rather than through /metrics, also keeps
    what Alertmanager sent and what Fleetward answered for each alert.
    """

    def __init__(self, app: ASGIApp, path_prefix: str = "/api/v1/webhooks/") -> None:
        self.app = app
        self.path_prefix = path_prefix
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.path_prefix):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        answer = bytearray()
        status = 0

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receiving, sending)
        delivery = Delivery(
            at=time.monotonic(),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            request=_json_or_text(bytes(body)),
            status=status,
            answer=_json_or_text(bytes(answer)),
        )
        with self._lock:
            self._deliveries.append(delivery)


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
