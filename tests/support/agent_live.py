"""A real Fleetward server and real agent processes, for the agent's integration tests.

The server is `fleetward serve` in its own process (so a test can kill -9 it
and start it again on the same database and port); the agent is `fleetward
agent run`. Both are stopped when the test ends, whatever happens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.unprivileged import Account

FLEETWARD = str(Path(sys.executable).with_name("fleetward"))
START_TIMEOUT_S = 30.0
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"FLEETWARD_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


@dataclass
class LiveServer:
    data_dir: Path
    database_url: str = ""  # empty: SQLite in data_dir
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    api_key: str = ""
    starts: int = 0
    # Run as this account (tests/support/unprivileged.py); None: as the tests run.
    account: Account | None = None
    log_dir: Path | None = None  # default: the data directory
    env: dict[str, str] = field(default_factory=dict)  # FLEETWARD_* settings of `serve`

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _global_options(self) -> list[str]:
        found = ["--data-dir", str(self.data_dir)]
        return found + (["--database-url", self.database_url] if self.database_url else [])

    def _command(self, *args: str) -> list[str]:
        program = [*self.account.python, "-m", "fleetward"] if self.account else [FLEETWARD]
        return [*program, *self._global_options(), *args]

    def _options(self) -> dict[str, Any]:
        if self.account is None:
            return {"env": _env(self.env)}
        env = _env({**self.account.env, **self.env})
        return {"env": env, "cwd": "/", **self.account.popen_options()}

    def _cli(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run(
            self._command(*args),
            input=stdin.encode(),
            capture_output=True,
            timeout=60,
            check=False,
            **self._options(),
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def initialise(self) -> None:
        """A database, a tenant and an admin whose API key the test acts with."""
        self._cli("init")
        self._cli("tenant", "create", "Agent MSP")
        email = "admin@agent.test"
        self._cli(
            "user", "create", "--tenant", "Agent MSP", "--email", email, "--role", "admin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        self.api_key = self._cli("apikey", "create", "--email", email, "--name", "tests").strip()

    def start(self) -> None:
        log = ((self.log_dir or self.data_dir) / f"server-{self.starts}.log").open("wb")
        self.starts += 1
        self.process = subprocess.Popen(
            self._command("serve", "--port", str(self.port)),
            stdout=log,
            stderr=subprocess.STDOUT,
            **self._options(),
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server exited while starting"
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not start within {START_TIMEOUT_S:.0f} s")

    def kill(self) -> None:
        """kill -9: no shutdown, whatever it was doing."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    # --- the API, as a person would use it -----------------------------------

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, headers=self.headers, timeout=30, **kwargs)

    def enrolment_token(self) -> str:
        client = self.api("POST", "/api/v1/clients", json={"name": "Contoso"})
        assert client.status_code == 201, client.text
        site = self.api("POST", f"/api/v1/clients/{client.json()['id']}/sites", json={"name": "HQ"})
        assert site.status_code == 201, site.text
        token = self.api(
            "POST", "/api/v1/enrollment-tokens", json={"site_id": site.json()["id"], "name": "t"}
        )
        assert token.status_code == 201, token.text
        secret: str = token.json()["token"]
        return secret

    def agents(self) -> list[dict[str, Any]]:
        found = self.api("GET", "/api/v1/agents", params={"limit": 100})
        assert found.status_code == 200, found.text
        items: list[dict[str, Any]] = found.json()["items"]
        return items

    def timeline(self, pc_id: str) -> list[dict[str, Any]]:
        """Every timeline event of one machine, page by page."""
        events: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"pc_id": pc_id, "limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = self.api("GET", "/api/v1/timeline", params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            events.extend(body["items"])
            cursor = body.get("next")
            if not cursor:
                return events


@contextmanager
def running_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    """`fleetward serve` on the given engine, initialised with a tenant and an admin key."""
    data = tmp_path / "server"
    data.mkdir()
    live = LiveServer(data, database_url)
    live.initialise()
    live.start()
    try:
        yield live
    finally:
        live.stop()


@contextmanager
def agent_processes() -> Iterator[list[LiveAgent]]:
    """The agents a test starts, killed when it ends, whatever happens."""
    started: list[LiveAgent] = []
    try:
        yield started
    finally:
        for agent in started:
            agent.kill()


@dataclass
class LiveAgent:
    server_url: str
    state_dir: Path
    args: Sequence[str] = ()
    token: str | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        log = (self.state_dir.parent / f"agent-{self.starts}.log").open("wb")
        self.starts += 1
        command = [FLEETWARD, "agent", "run", "--server", self.server_url]
        command += ["--state-dir", str(self.state_dir), *self.args]
        if self.token:
            command += ["--token", self.token]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_env())

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def terminate(self) -> int:
        """SIGTERM, as a service manager stops it; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=20)
        self.process = None
        return code

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.state_dir.parent.glob("agent-*.log"))
        )


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    """`check()` once it is truthy, within `timeout` seconds (a generous bound, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(interval)


def iter_lines(path: Path) -> Iterator[str]:
    yield from path.read_text().splitlines()
