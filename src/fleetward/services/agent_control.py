"""The control hub: agents connected to this process, and what the server says to them.

One `AgentControl` per process, living on the server's event loop: every
WebSocket of docs/agent-protocol.md is served by `serve`, which registers the
connection under the agent's id. Watch changes commit on worker threads and
call `config_changed`, which hands over to the loop; each connected agent of
that tenant whose stored config_version differs from the one it was last sent
gets the new config at once. People's commands (`query_eventlog`) travel the
same connection and wait for the agent's `result`.

The registry is this process's only: with several API nodes a command or a
push would have to cross to the node holding the socket (a message bus
between the nodes, planned), which is not built yet.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
import structlog

from fleetward.domain.agent_config import (
    HEARTBEAT_SECONDS,
    EventLogQuery,
    config_document,
    records_from_answer,
)
from fleetward.domain.agents import Agent
from fleetward.domain.errors import (
    Conflict,
    FleetwardError,
    InvalidInput,
    RateLimited,
    Unauthenticated,
)
from fleetward.domain.eventlog import EventLogWatch
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.services.agents import AgentService
from fleetward.services.audit import actor_of, record
from fleetward.services.ports import Clock, UnitOfWork

log = structlog.get_logger("fleetward.agent_control")

MAX_FRAME_BYTES = 1024 * 1024
MAX_PENDING_COMMANDS = 8  # per agent, waiting for their results
COMMAND_TIMEOUT_SECONDS = 15.0
HELLO_TIMEOUT_SECONDS = 30.0
# Silence for this many heartbeats means the connection is dead: a half-open TCP
# connection would otherwise keep an agent "connected" for hours.
IDLE_HEARTBEATS = 3
_MAX_ERROR_TEXT = 500

# Close codes (docs/agent-protocol.md). 1xxx are RFC 6455's, 4xxx ours.
CLOSE_SERVER_ERROR = 1011
CLOSE_NOT_TEXT = 1003
CLOSE_NOT_JSON = 1007
CLOSE_PROTOCOL = 1008
CLOSE_TOO_BIG = 1009
CLOSE_REVOKED = 4401
CLOSE_IDLE = 4408
CLOSE_REPLACED = 4409


class AgentOffline(Conflict):
    """The agent is not connected to this server (or is revoked): 409."""

    code = "agent_offline"


class AgentTimedOut(FleetwardError):
    """The agent did not answer a command in time: 504."""

    code = "agent_timeout"


class AgentFailed(FleetwardError):
    """The agent answered ok:false, or an answer that does not hold up: 502."""

    code = "agent_failed"


class ProtocolError(Exception):
    """A frame the protocol does not allow: the connection is closed with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class AgentSocket(Protocol):
    """One accepted WebSocket, as the entrypoint adapts it."""

    async def receive(self) -> str | bytes | None:
        """The next frame's text (bytes for a binary frame); None once the agent is gone."""
        ...

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass(eq=False)
class _Connection:
    agent: Agent
    key: str  # re-checked on every heartbeat, so a revoke reaches an open connection
    socket: AgentSocket
    sent_version: int  # the config version the agent holds: from its hello, then ours
    sources: tuple[str, ...] | None = None  # the logs it reads, from its hello (None: untold)
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sync_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False

    async def send(self, frame: dict[str, Any]) -> bool:
        """Send one frame; False when the connection is closed or the send failed."""
        async with self.send_lock:
            if self.closed:
                return False
            try:
                await self.socket.send_text(orjson.dumps(frame).decode())
            except Exception as error:  # any transport failure means gone
                log.info("agent_send_failed", agent_id=str(self.agent.id), error=repr(error))
                return False
            return True


def _clean(text: object) -> str:
    """An agent's error text, safe to show a person: printable and bounded."""
    value = str(text)[:_MAX_ERROR_TEXT]
    return "".join(ch if ch.isprintable() else " " for ch in value).strip() or "no reason given"


def decode_frame(raw: str | bytes) -> dict[str, Any]:
    """One frame as the protocol allows it: a JSON text object with a string `type`."""
    if isinstance(raw, bytes):
        raise ProtocolError(CLOSE_NOT_TEXT, "frames must be JSON text, not binary")
    if len(raw) > MAX_FRAME_BYTES or len(raw.encode()) > MAX_FRAME_BYTES:
        raise ProtocolError(CLOSE_TOO_BIG, f"frame larger than {MAX_FRAME_BYTES} bytes")
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtocolError(CLOSE_NOT_JSON, "frame is not JSON") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ProtocolError(CLOSE_PROTOCOL, "frame must be a JSON object with a string type")
    return frame


def _hello_version(frame: dict[str, Any]) -> int:
    if frame["type"] != "hello":
        raise ProtocolError(CLOSE_PROTOCOL, "the first frame must be hello")
    version = frame.get("config_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ProtocolError(CLOSE_PROTOCOL, "hello.config_version must be a whole number")
    return version


MAX_SOURCES = 200
_MAX_SOURCE_NAME = 256


def _hello_sources(frame: dict[str, Any]) -> tuple[str, ...] | None:
    """The logs the agent says it reads; an agent older than the field says nothing."""
    sources = frame.get("sources")
    if sources is None:
        return None
    if (
        not isinstance(sources, list)
        or len(sources) > MAX_SOURCES
        or not all(
            isinstance(s, str) and 0 < len(s) <= _MAX_SOURCE_NAME and s.isprintable()
            for s in sources
        )
    ):
        raise ProtocolError(
            CLOSE_PROTOCOL,
            f"hello.sources must be a list of at most {MAX_SOURCES} log names",
        )
    return tuple(dict.fromkeys(sources))


class AgentControl:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        agents: AgentService,
        command_timeout: float = COMMAND_TIMEOUT_SECONDS,
        heartbeat_seconds: int = HEARTBEAT_SECONDS,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.agents = agents
        # Seconds a command waits for its result; tests shorten it.
        self.command_timeout = command_timeout
        self.heartbeat_seconds = heartbeat_seconds
        self._connections: dict[uuid.UUID, _Connection] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # What other code asks

    def is_connected(self, agent_id: uuid.UUID) -> bool:
        """Whether the agent has a live control connection to this process (any thread)."""
        return agent_id in self._connections

    def sources(self, agent_id: uuid.UUID) -> tuple[str, ...] | None:
        """The logs a connected agent said it reads (its hello); None when not told."""
        conn = self._connections.get(agent_id)
        return None if conn is None else conn.sources

    def online(self, agent: Agent) -> bool:
        """Connected now, or seen recently; a revoked agent never is."""
        if agent.revoked_at is not None:
            return False
        # The agents service's clock: the one that wrote last_seen_at.
        return self.is_connected(agent.id) or agent.online(self.agents.clock())

    def revoke_agent(self, principal: Principal, agent_id: uuid.UUID) -> Agent:
        """Revoke the agent (its key stops working at once) and close its control
        channel: after the commit, its tenant's next sync sees the revoke (any thread)."""
        agent = self.agents.revoke_agent(principal, agent_id)
        self.config_changed(agent.tenant_id)
        return agent

    def config_changed(self, tenant_id: uuid.UUID) -> None:
        """Something in the tenant's agent config was committed; call from any thread."""
        loop = self._loop
        if loop is None or not self._connections:
            return
        try:
            loop.call_soon_threadsafe(self._push_tenant, tenant_id)
        except RuntimeError:
            # The loop has closed (the server stopped): nobody is connected to tell.
            return

    # The connection

    async def serve(self, agent: Agent, key: str, socket: AgentSocket) -> None:
        """Run one accepted connection of an authenticated agent until either side ends it."""
        self._loop = asyncio.get_running_loop()
        conn: _Connection | None = None
        try:
            hello = await self._first_frame(socket)
            version = _hello_version(hello)
            sources = _hello_sources(hello)
            if isinstance(hello.get("agent_version"), str):
                # An agent that updated itself says so here first: the list shows it.
                agent = await asyncio.to_thread(
                    self.agents.record_version, agent, hello["agent_version"]
                )
            conn = _Connection(agent, key, socket, version, sources)
            await self._adopt(conn)
            await self._sync(conn, hello=True)
            idle = IDLE_HEARTBEATS * self.heartbeat_seconds
            while not conn.closed:
                try:
                    raw = await asyncio.wait_for(socket.receive(), idle)
                except TimeoutError:
                    raise ProtocolError(CLOSE_IDLE, f"no heartbeat for {idle} s") from None
                if raw is None:
                    break
                await self._handle(conn, decode_frame(raw))
        except ProtocolError as error:
            log.info("agent_closed", agent_id=str(agent.id), code=error.code, reason=error.reason)
            await self._close(conn, socket, error.code, error.reason)
        except Exception:
            log.exception("agent_connection_failed", agent_id=str(agent.id))
            await self._close(conn, socket, CLOSE_SERVER_ERROR, "server error; reconnect later")
        finally:
            if conn is not None:
                self._drop(conn)

    async def _first_frame(self, socket: AgentSocket) -> dict[str, Any]:
        try:
            raw = await asyncio.wait_for(socket.receive(), HELLO_TIMEOUT_SECONDS)
        except TimeoutError:
            raise ProtocolError(
                CLOSE_PROTOCOL, f"no hello within {HELLO_TIMEOUT_SECONDS:g} s"
            ) from None
        if raw is None:
            raise ProtocolError(CLOSE_PROTOCOL, "closed before hello")
        return decode_frame(raw)

    async def _adopt(self, conn: _Connection) -> None:
        """Register the connection; an older one of the same agent is closed (it is
        most likely a dead socket the agent has already given up on)."""
        older = self._connections.get(conn.agent.id)
        self._connections[conn.agent.id] = conn
        if older is not None:
            await self._close(older, older.socket, CLOSE_REPLACED, "replaced by a newer connection")

    async def _handle(self, conn: _Connection, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "heartbeat":
            await self._heartbeat(conn)
        elif kind == "result":
            self._result(conn, frame)
        elif kind == "hello":
            raise ProtocolError(CLOSE_PROTOCOL, "hello comes once, first")
        else:
            raise ProtocolError(CLOSE_PROTOCOL, f"unknown frame type {kind[:40]!r}")

    async def _heartbeat(self, conn: _Connection) -> None:
        """Keep last_seen_at fresh the way every agent request does, revocation included."""
        try:
            conn.agent = await asyncio.to_thread(self.agents.authenticate_agent, conn.key)
        except Unauthenticated:
            raise ProtocolError(CLOSE_REVOKED, "agent key revoked") from None
        except Exception as error:  # storage trouble must not drop agents
            log.warning("agent_heartbeat_failed", agent_id=str(conn.agent.id), error=repr(error))

    def _result(self, conn: _Connection, frame: dict[str, Any]) -> None:
        command_id = frame.get("id")
        if not isinstance(command_id, str):
            raise ProtocolError(CLOSE_PROTOCOL, "result.id must be a string")
        waiting = conn.pending.get(command_id)
        ok = frame.get("ok")
        if ok is True and isinstance(frame.get("data"), dict):
            outcome: dict[str, Any] = {"ok": True, "data": frame["data"]}
        elif ok is False:
            outcome = {"ok": False, "error": _clean(frame.get("error", ""))}
        else:
            problem = "result needs ok: true with a data object, or ok: false with an error"
            if waiting is not None and not waiting.done():
                waiting.set_exception(AgentFailed(f"the agent sent a malformed result: {problem}"))
            raise ProtocolError(CLOSE_PROTOCOL, problem)
        # A result nobody waits for (unknown id, or answered after the time-out) is dropped.
        if waiting is not None and not waiting.done():
            waiting.set_result(outcome)

    async def _close(
        self, conn: _Connection | None, socket: AgentSocket, code: int, reason: str
    ) -> None:
        if conn is not None:
            if conn.closed:
                return
            self._drop(conn)
            async with conn.send_lock:
                conn.closed = True
                await self._close_socket(socket, code, reason)
        else:
            await self._close_socket(socket, code, reason)

    @staticmethod
    async def _close_socket(socket: AgentSocket, code: int, reason: str) -> None:
        try:
            await socket.close(code, reason)
        except Exception as error:  # the agent may be gone already
            log.info("agent_close_failed", error=repr(error))

    def _drop(self, conn: _Connection) -> None:
        """Forget the connection; commands waiting on it fail at once."""
        conn.closed = True
        if self._connections.get(conn.agent.id) is conn:
            del self._connections[conn.agent.id]
        for waiting in conn.pending.values():
            if not waiting.done():
                waiting.set_exception(AgentOffline("the agent disconnected before answering"))
        conn.pending.clear()

    # Config pushes

    def _push_tenant(self, tenant_id: uuid.UUID) -> None:
        for conn in list(self._connections.values()):
            if conn.agent.tenant_id == tenant_id:
                self._spawn(self._sync(conn))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)

    def _read_config(self, agent: Agent, held: int) -> tuple[Agent | None, list[EventLogWatch]]:
        """The agent as stored, and its rules when its version differs from `held`.

        The version is read before the rules: on PostgreSQL each statement sees
        the latest commit, so rules newer than the version may be read (and are
        sent again with the next version's push), never rules older than it.
        """
        with self.uow.read() as repos:
            current: Agent | None = repos.agents.get(agent.tenant_id, agent.id)
            if current is None or current.config_version == held:
                return current, []
            return current, repos.watches.for_agent(current)

    async def _sync(self, conn: _Connection, hello: bool = False) -> None:
        """Send the agent its config if what it holds is not the stored version.

        One at a time per connection, so a slow read cannot send an older config
        after a newer one; the answer to a hello is `welcome` when nothing differs.
        """
        async with conn.sync_lock:
            if conn.closed:
                return
            try:
                current, watches = await asyncio.to_thread(
                    self._read_config, conn.agent, conn.sent_version
                )
            except Exception:
                if hello:
                    raise
                log.exception("agent_config_read_failed", agent_id=str(conn.agent.id))
                return
            if current is None or current.revoked_at is not None:
                await self._close(conn, conn.socket, CLOSE_REVOKED, "agent key revoked")
                return
            if current.config_version != conn.sent_version:
                frame = {
                    "type": "config",
                    "config_version": current.config_version,
                    "config": config_document(watches, self.heartbeat_seconds),
                }
                if await conn.send(frame):
                    conn.sent_version = current.config_version
            elif hello:
                await conn.send({"type": "welcome", "config_version": current.config_version})

    # Commands

    async def command(
        self, agent_id: uuid.UUID, name: str, args: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Run a command on a connected agent and answer its `data`.

        AgentOffline when it is not connected or goes away meanwhile, AgentTimedOut
        when no result comes in time, AgentFailed when it answers ok: false.
        """
        conn = self._connections.get(agent_id)
        if conn is None or conn.closed:
            raise AgentOffline("the agent is not connected")
        if len(conn.pending) >= MAX_PENDING_COMMANDS:
            # A machine's event log is read by one person at a time in practice;
            # this only stops a loop of requests piling work onto one agent.
            raise RateLimited(
                f"the agent is already running {MAX_PENDING_COMMANDS} commands; try again"
            )
        seconds = self.command_timeout if timeout is None else timeout
        command_id = str(new_id())
        waiting: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        conn.pending[command_id] = waiting
        try:
            frame = {"type": "command", "id": command_id, "name": name, "args": args}
            if not await conn.send(frame):
                raise AgentOffline("the agent is not connected")
            outcome = await asyncio.wait_for(waiting, seconds)
        except TimeoutError:
            raise AgentTimedOut(f"the agent did not answer within {seconds:g} s") from None
        finally:
            conn.pending.pop(command_id, None)
        if not outcome["ok"]:
            raise AgentFailed(f"the agent could not run {name}: {outcome['error']}")
        data: dict[str, Any] = outcome["data"]
        return data

    async def query_eventlog(
        self, principal: Principal, agent_id: uuid.UUID, query: EventLogQuery
    ) -> list[dict[str, Any]]:
        """The records of one machine's event log that match `query`, newest first.

        Operators and admins only: it runs a command on a customer's machine, and
        each one is audited (`agent.command`). Another tenant's agent is a 404
        (audited as every miss is); AgentOffline (409), AgentTimedOut (504),
        AgentFailed (502, also for an answer that is not valid records).
        """
        principal.require(Access.WRITE)
        agent = await asyncio.to_thread(self.agents.get_agent, principal, agent_id)
        if agent.revoked_at is not None:
            raise AgentOffline(f"agent {agent.hostname} is revoked and takes no commands")
        if not self.is_connected(agent.id):
            raise AgentOffline(
                f"agent {agent.hostname} is not connected; its event log can be read "
                "only while it is online"
            )
        name, args = "eventlog.query", query.command_args()
        await asyncio.to_thread(self._audit_command, principal, agent, name, args)
        data = await self.command(agent.id, name, args)
        try:
            return records_from_answer(data, query.limit)
        except InvalidInput as error:
            raise AgentFailed(f"the agent's answer was refused: {error.message}") from None

    def _audit_command(
        self, principal: Principal, agent: Agent, name: str, args: dict[str, Any]
    ) -> None:
        with self.uow.write() as repos:
            record(
                repos,
                self.clock,
                principal.tenant_id,
                actor_of(principal),
                "agent.command",
                "agent",
                agent.id,
                after={"command": name, "args": args},
            )
