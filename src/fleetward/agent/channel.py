"""The control channel: a WebSocket to /api/v1/agent/ws, as docs/agent-protocol.md describes.

The agent says hello with the config version it holds; the server answers
`welcome` (current) or `config` (the whole new config, also pushed whenever it
changes). The agent sends heartbeats every `heartbeat_seconds` and answers
each `command` with one `result`. The connection is re-made with the same
backoff as the shipper (full jitter, 1 s to 64 s) for as long as the agent runs;
shipping never waits for it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from fleetward.agent.backoff import Backoff
from fleetward.agent.outbox import Outbox
from fleetward.domain.agent_config import EventLogQuery, record_document
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import EventRecord

log = logging.getLogger("fleetward.agent.channel")

PATH = "/api/v1/agent/ws"
HEARTBEAT_DEFAULT = 30.0
REVOKED_CLOSE_CODE = 4401
MAX_SOURCES = 200  # logs named in the hello; the server takes no more
RECV_SLICE = 0.5  # seconds: how often a quiet connection checks whether the agent stops

QueryRunner = Callable[[EventLogQuery], list[EventRecord]]


def ws_url(server: str) -> str:
    base = server.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + PATH
    return "ws://" + base.removeprefix("http://") + PATH


class Channel:
    def __init__(
        self,
        server: str,
        key: str,
        outbox: Outbox,
        query: QueryRunner,
        agent_version: str,
        stop: threading.Event,
        *,
        on_config: Callable[[Mapping[str, Any]], None] | None = None,
        backoff: Backoff | None = None,
        sources: Callable[[], list[str]] | None = None,
    ) -> None:
        self.url = ws_url(server)
        self.key = key
        self.outbox = outbox
        self.query = query
        self.agent_version = agent_version
        self.stop = stop
        self.on_config = on_config
        self.sources = sources
        self.backoff = backoff or Backoff()
        self.connected = threading.Event()
        self._send_lock = threading.Lock()

    # --- the loop -------------------------------------------------------------

    def run(self) -> None:
        """Connect, talk, reconnect after a backoff; until `stop` is set."""
        while not self.stop.is_set():
            try:
                with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self.key}"},
                    open_timeout=10,
                    close_timeout=2,
                    max_size=4 * 1024 * 1024,
                ) as ws:
                    self._session(ws)
            except InvalidStatus as error:
                status = error.response.status_code
                log.warning("the server refused the control channel (HTTP %d)", status)
            except ConnectionClosed as error:
                code = error.rcvd.code if error.rcvd is not None else None
                if code == REVOKED_CLOSE_CODE:
                    log.error("the server closed the control channel: this agent was revoked")
                else:
                    log.info("the control channel closed (code %s); reconnecting", code)
            except (OSError, TimeoutError, WebSocketException) as error:
                log.info("cannot open the control channel (%s); retrying", error)
            finally:
                self.connected.clear()
            if self.stop.wait(self.backoff.next_delay()):
                return

    def _session(self, ws: ClientConnection) -> None:
        hello: dict[str, Any] = {
            "type": "hello",
            "config_version": int(self.outbox.get("config_version") or 0),
            "agent_version": self.agent_version,
        }
        if self.sources is not None:
            # What the dashboard's viewer offers: the logs this agent actually reads.
            hello["sources"] = self.sources()[:MAX_SOURCES]
        self._send(ws, hello)
        last_beat = time.monotonic()
        while not self.stop.is_set():
            # Read every time round: a config that arrives changes the interval at once.
            next_beat = last_beat + self._heartbeat_seconds()
            wait = max(0.0, min(RECV_SLICE, next_beat - time.monotonic()))
            try:
                frame = ws.recv(timeout=wait)
            except TimeoutError:
                if time.monotonic() >= next_beat:
                    self._send(ws, {"type": "heartbeat"})
                    last_beat = time.monotonic()
                continue
            self._handle(ws, frame)
        ws.close()

    # --- frames ---------------------------------------------------------------

    def _handle(self, ws: ClientConnection, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            log.warning("ignoring a control frame that is not JSON")
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "welcome":
            self._ready()
        elif kind == "config":
            self.apply_config(message)
            self._ready()
        elif kind == "command":
            worker = threading.Thread(
                target=self._command, args=(ws, message), name="agent-command", daemon=True
            )
            worker.start()
        else:
            log.info("ignoring a control frame of type %r", kind)

    def _ready(self) -> None:
        if not self.connected.is_set():
            log.info("control channel up")
        self.connected.set()
        self.backoff.reset()

    def apply_config(self, message: Mapping[str, Any]) -> None:
        """Replace the whole config with the pushed one, and remember its version."""
        config = message.get("config")
        version = message.get("config_version")
        if not isinstance(config, dict) or not isinstance(version, int):
            log.warning("ignoring a config frame without a config object and version")
            return
        self.outbox.set(config=config, config_version=version)
        log.info(
            "config version %d applied (%d watch rules)", version, len(config.get("watches") or [])
        )
        if self.on_config is not None:
            self.on_config(config)

    def _command(self, ws: ClientConnection, message: Mapping[str, Any]) -> None:
        command_id = message.get("id")
        try:
            data = self.run_command(str(message.get("name")), message.get("args") or {})
            reply: dict[str, Any] = {"type": "result", "id": command_id, "ok": True, "data": data}
        except InvalidInput as error:
            reply = {"type": "result", "id": command_id, "ok": False, "error": error.message}
        except Exception as error:  # a command never takes the channel down
            log.exception("command %s failed", message.get("name"))
            reply = {"type": "result", "id": command_id, "ok": False, "error": str(error)}
        try:
            self._send(ws, reply)
        except ConnectionClosed:
            log.info("the channel closed before command %s could be answered", command_id)

    def run_command(self, name: str, args: Any) -> dict[str, Any]:
        if name != "eventlog.query":
            raise InvalidInput(f"unknown command {name!r}", field="name")
        if not isinstance(args, dict):
            raise InvalidInput("args must be an object", field="args")
        records = self.query(EventLogQuery.from_args(args))
        return {"records": [record_document(r) for r in records]}

    def _send(self, ws: ClientConnection, message: Mapping[str, Any]) -> None:
        with self._send_lock:
            ws.send(json.dumps(message))

    def _heartbeat_seconds(self) -> float:
        config = self.outbox.get("config") or {}
        value = config.get("heartbeat_seconds") if isinstance(config, dict) else None
        if isinstance(value, int | float) and value > 0:
            return float(value)
        return HEARTBEAT_DEFAULT
