"""The control channel client against a small real WebSocket peer that speaks the protocol page.

The server side of /api/v1/agent/ws is being built alongside; until it lands
this peer (websockets' own server on 127.0.0.1) stands in for it, following
docs/agent-protocol.md: hello -> config or welcome, pushes, commands, results.
"""

from __future__ import annotations

import json
import queue
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from fleetward.agent.backoff import Backoff
from fleetward.agent.channel import Channel
from fleetward.agent.collectors.evtx_folder import EvtxFolderCollector
from fleetward.agent.items import rules_from_config
from fleetward.agent.outbox import Outbox
from fleetward.domain.eventlog import WatchRule
from tests.support.components import evtx_fixtures

KEY = "fwa_test_key"
WAIT_S = 5.0  # generous: the protocol's "within a second" is checked on a quiet machine only
RULE = {
    "id": "6f1c2b7e-8a40-4c1e-9d1f-0e2a3b4c5d6e",
    "name": "Disk errors",
    "log_name": "System",
    "event_ids": [7, 51],
    "providers": ["disk"],
    "min_level": "warning",
    "keywords": [],
    "alert_severity": "major",
    "enabled": True,
}


@dataclass
class Peer:
    """The server end: what it received, and a way to push frames to the connected agent."""

    config_version: int = 3
    config: dict[str, Any] = field(
        default_factory=lambda: {"heartbeat_seconds": 30, "watches": [RULE]}
    )
    received: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    connections: int = 0
    refuse: bool = False
    current: ServerConnection | None = None
    server: Server | None = None
    url: str = ""

    def check_key(self, conn: ServerConnection, request: Request) -> Response | None:
        if self.refuse or request.headers.get("Authorization") != f"Bearer {KEY}":
            return conn.respond(HTTPStatus.FORBIDDEN, "unknown agent key\n")
        return None

    def handle(self, conn: ServerConnection) -> None:
        self.connections += 1
        self.current = conn
        for raw in conn:
            message = json.loads(raw)
            self.received.put(message)
            if message["type"] == "hello":
                if message["config_version"] != self.config_version:
                    self.push_config()
                else:
                    conn.send(
                        json.dumps({"type": "welcome", "config_version": self.config_version})
                    )

    def push_config(self) -> None:
        assert self.current is not None
        frame = {"type": "config", "config_version": self.config_version, "config": self.config}
        self.current.send(json.dumps(frame))

    def next(self, kind: str, timeout: float = WAIT_S) -> dict[str, Any]:
        while True:
            message = self.received.get(timeout=timeout)
            if message["type"] == kind:
                return message


@pytest.fixture
def peer() -> Iterator[Peer]:
    found = Peer()
    server = serve(found.handle, "127.0.0.1", 0, process_request=found.check_key)
    found.server = server
    port = server.socket.getsockname()[1]
    found.url = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    thread.join(timeout=5)


@dataclass
class Running:
    channel: Channel
    outbox: Outbox
    stop: threading.Event
    thread: threading.Thread
    configs: list[list[WatchRule]]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    started: list[Running] = []

    def run(peer: Peer, key: str = KEY, state: str = "state") -> Running:
        outbox = Outbox.in_dir(tmp_path / state)
        folder = tmp_path / "logs"
        if not folder.exists():
            folder.mkdir()
            source = evtx_fixtures() / "omerbenamram-evtx_system.evtx"
            if not source.is_file():
                pytest.fail("the .evtx fixtures" + " is missing from tests/fixtures/evtx")
            shutil.copy(source, folder)
        configs: list[list[WatchRule]] = []
        stop = threading.Event()
        channel = Channel(
            peer.url,
            key,
            outbox,
            EvtxFolderCollector(folder).query,
            "0.1.0",
            stop,
            on_config=lambda config: configs.append(rules_from_config(config)),
            backoff=Backoff(base=0.05, cap=0.2),
        )
        thread = threading.Thread(target=channel.run, daemon=True)
        thread.start()
        running = Running(channel, outbox, stop, thread, configs)
        started.append(running)
        return running

    yield run
    for running in started:
        running.stop.set()
        running.thread.join(timeout=5)
        running.outbox.close()


def test_hello_then_the_config_is_applied_and_kept(peer: Peer, start: Any) -> None:
    agent = start(peer)
    hello = peer.next("hello")
    assert hello == {"type": "hello", "config_version": 0, "agent_version": "0.1.0"}
    assert agent.channel.connected.wait(WAIT_S)
    assert agent.outbox.get("config_version") == 3
    assert agent.outbox.get("config") == peer.config
    ((rule,),) = agent.configs
    assert (rule.log_name, rule.event_ids, rule.providers) == (
        "System",
        frozenset({7, 51}),
        ("disk",),
    )


def test_a_current_agent_is_welcomed_and_keeps_its_config(peer: Peer, start: Any) -> None:
    first = start(peer)
    assert first.channel.connected.wait(WAIT_S)
    first.stop.set()
    first.thread.join(timeout=5)
    first.outbox.close()
    again = start(peer)  # the same state directory: a restart
    assert peer.next("hello")["config_version"] == 0
    assert peer.next("hello")["config_version"] == 3
    assert again.channel.connected.wait(WAIT_S)
    assert again.configs == []  # welcome: nothing to apply
    assert again.outbox.get("config") == peer.config


def test_a_pushed_change_replaces_the_whole_config(peer: Peer, start: Any) -> None:
    agent = start(peer)
    assert agent.channel.connected.wait(WAIT_S)
    peer.config_version = 4
    peer.config = {"heartbeat_seconds": 30, "watches": []}
    peer.push_config()
    deadline = threading.Event()
    for _ in range(int(WAIT_S / 0.05)):
        if agent.outbox.get("config_version") == 4:
            break
        deadline.wait(0.05)
    assert agent.outbox.get("config_version") == 4
    assert agent.configs[-1] == []


def test_heartbeats_follow_the_configs_interval(peer: Peer, start: Any) -> None:
    peer.config = {"heartbeat_seconds": 0.2, "watches": []}
    start(peer)
    peer.next("hello")
    assert peer.next("heartbeat") == {"type": "heartbeat"}
    assert peer.next("heartbeat") == {"type": "heartbeat"}


def test_an_eventlog_query_is_answered_newest_first(peer: Peer, start: Any) -> None:
    agent = start(peer)
    assert agent.channel.connected.wait(WAIT_S)
    assert peer.current is not None
    command = {
        "type": "command",
        "id": "c-1",
        "name": "eventlog.query",
        "args": {"log": "System", "level": "error", "limit": 5},
    }
    peer.current.send(json.dumps(command))
    result = peer.next("result")
    assert result["id"] == "c-1" and result["ok"] is True
    records = result["data"]["records"]
    assert len(records) == 5
    times = [r["time_created"] for r in records]
    assert times == sorted(times, reverse=True)
    assert all(r["level"] in (1, 2) and r["log_name"] == "System" for r in records)
    assert set(records[0]) == {
        "log_name", "provider", "event_id", "level", "record_id", "time_created",
        "computer", "user_sid", "keywords", "data", "message",
    }  # fmt: skip


def test_a_bad_command_gets_an_error_result_and_the_channel_stays(peer: Peer, start: Any) -> None:
    agent = start(peer)
    assert agent.channel.connected.wait(WAIT_S)
    assert peer.current is not None
    peer.current.send(
        json.dumps({"type": "command", "id": "c-2", "name": "eventlog.query", "args": {}})
    )
    assert peer.next("result") == {
        "type": "result",
        "id": "c-2",
        "ok": False,
        "error": "log is required: name the event log (System, ...)",
    }
    peer.current.send(json.dumps({"type": "command", "id": "c-3", "name": "reboot", "args": {}}))
    failed = peer.next("result")
    assert failed["ok"] is False and "unknown command" in failed["error"]
    assert peer.connections == 1


def test_a_refused_or_dropped_connection_is_retried(peer: Peer, start: Any) -> None:
    peer.refuse = True
    agent = start(peer)
    assert not agent.channel.connected.wait(0.5)
    peer.refuse = False
    assert agent.channel.connected.wait(WAIT_S)
    assert peer.current is not None
    peer.current.close(code=4401, reason="revoked")
    assert peer.next("hello", timeout=WAIT_S)  # the first hello
    assert peer.next("hello", timeout=WAIT_S)["config_version"] == 3  # after the reconnect
