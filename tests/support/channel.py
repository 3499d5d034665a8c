"""The test plays an agent on the control channel, over the app's real WebSocket.

`AgentChannel` opens `/api/v1/agent/ws` through Starlette's TestClient (the
real app, in process), sends the hello and reads every frame the server sends
on a thread of its own, so a test can wait for the next frame with a time-out
and, when told how, answer commands while the test's own thread calls the API.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fleetward.domain.agents import FIRST_CONFIG_VERSION

WS_PATH = "/api/v1/agent/ws"
# Generous: frames normally arrive in milliseconds, but the machine is shared.
WAIT_SECONDS = 10.0

Answer = Callable[[dict[str, Any]], dict[str, Any]]


class Closed(Exception):
    """The server closed the connection."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class AgentChannel:
    """One agent's connection, by default one holding the config of a new agent
    (the version every agent starts at). With `answer`, each command gets the result it returns
    (without `type` and `id`, which are filled in), answered on the reader thread."""

    def __init__(
        self,
        client: TestClient,
        key: str,
        config_version: int | None = FIRST_CONFIG_VERSION,
        answer: Answer | None = None,
        sources: list[str] | None = None,
    ) -> None:
        self.client = client
        self.sources = sources  # the logs the hello says the agent reads; None: not said
        self.key = key
        self.hello_version = config_version
        self.answer = answer
        self.frames: queue.Queue[dict[str, Any] | Closed] = queue.Queue()
        self.commands: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None

    def __enter__(self) -> AgentChannel:
        self._context = self.client.websocket_connect(
            WS_PATH, headers={"Authorization": f"Bearer {self.key}"}
        )
        self.ws = self._context.__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if self.hello_version is not None:
            hello = {
                "type": "hello",
                "config_version": self.hello_version,
                "agent_version": "0.1.0",
            }
            if self.sources is not None:
                hello["sources"] = self.sources
            self.send(hello)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Leaving the session cancels its task, which ends the reader's wait too.
        self._context.__exit__(None, None, None)
        if self._thread is not None:
            self._thread.join(WAIT_SECONDS)

    def _read(self) -> None:
        while True:
            try:
                frame = self.ws.receive_json()
            except WebSocketDisconnect as closed:
                self.frames.put(Closed(closed.code, str(closed.reason or "")))
                return
            except Exception:  # the session ended under the wait
                return
            if self.answer is not None and frame.get("type") == "command":
                self.commands.append(frame)
                result = self.answer(frame)
                self.send({"type": "result", "id": frame["id"], **result})
                continue
            self.frames.put(frame)

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send_json(frame)

    def send_text(self, text: str) -> None:
        self.ws.send_text(text)

    def next_frame(self, seconds: float = WAIT_SECONDS) -> dict[str, Any]:
        """The next frame the server sent; Closed is raised when it closed instead."""
        try:
            frame = self.frames.get(timeout=seconds)
        except queue.Empty:
            raise AssertionError(f"no frame from the server within {seconds} s") from None
        if isinstance(frame, Closed):
            raise frame
        return frame

    def closed(self, seconds: float = WAIT_SECONDS) -> Closed:
        """The close the server sent next (frames before it are a failure)."""
        try:
            frame = self.next_frame(seconds)
        except Closed as closed:
            return closed
        raise AssertionError(f"expected the server to close, got {frame}")
