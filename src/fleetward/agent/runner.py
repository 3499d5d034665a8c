"""The agent process: enrol once, then collect, ship and listen until told to stop.

Three threads share the outbox: this one polls the collectors every
`poll_seconds` and writes what they read (with its watermark, one transaction
per step), the shipper drains the outbox to the server, and the control
channel keeps the config current and answers commands. Shipping never waits
for the channel: an agent whose WebSocket cannot connect still delivers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from fleetward.agent.backoff import Backoff
from fleetward.agent.channel import Channel
from fleetward.agent.collectors.base import Collector, Damage, Failure, Read, Step, newest
from fleetward.agent.collectors.evtx_folder import EvtxFolderCollector
from fleetward.agent.collectors.journald import JournaldCollector
from fleetward.agent.collectors.winevent import POWERSHELL, WinEventCollector
from fleetward.agent.items import damaged_item, event_item, match_items, rules_from_config
from fleetward.agent.outbox import (
    DEFAULT_CAPACITY,
    Item,
    ItemKind,
    Outbox,
    diagnostic,
    iso,
    utc_now,
)
from fleetward.agent.shipper import MAX_BATCH, HttpTransport, Revoked, Shipper
from fleetward.agent.version import agent_version
from fleetward.domain.agent_config import EventLogQuery
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import EventRecord, WatchRule, is_journal_log

log = logging.getLogger("fleetward.agent")

EXIT_OK = 0
EXIT_ENROLMENT_REFUSED = 2
# How long a new agent waits for its first config before it reads anything.
FIRST_CONFIG_WAIT_S = 15.0
EXIT_REVOKED = 3
# The Windows logs the timeline's moments come from (boots and power in System,
# people's logons in Security): read on Windows whatever the rules name.
TIMELINE_LOGS = ("System", "Security")


class LogNotCollected(InvalidInput):
    """An on-demand query of a log this agent does not read: answered with what it reads."""


class EnrolmentRefused(Exception):
    """The server would not enrol this machine (unknown, expired or revoked token)."""


@dataclass
class AgentOptions:
    server: str
    state_dir: Path
    token: str | None = None
    evtx_dirs: Sequence[Path] = ()
    journald: bool = False
    journalctl: Sequence[str] = ("journalctl",)
    winevent_logs: Sequence[str] = ()
    # Read the Windows logs the timeline and the watch rules need, besides
    # `winevent_logs`: on Windows, or wherever a Windows log is asked for.
    windows_logs: bool = field(default_factory=lambda: platform.system() == "Windows")
    powershell: Sequence[str] = POWERSHELL
    poll_seconds: float = 10.0
    batch_size: int = MAX_BATCH
    capacity: int = DEFAULT_CAPACITY
    channel: bool = True
    agent_version: str = field(default_factory=agent_version)
    hostname: str = field(default_factory=socket.gethostname)
    os_name: str = field(default_factory=lambda: f"{platform.system()} {platform.release()}")

    def collectors(self) -> list[Collector]:
        found: list[Collector] = [EvtxFolderCollector(Path(d)) for d in self.evtx_dirs]
        if self.journald:
            found.append(JournaldCollector(self.journalctl))
        found.extend(WinEventCollector(name, self.powershell) for name in self.winevent_logs)
        return found

    @property
    def reads_windows_logs(self) -> bool:
        return self.windows_logs or bool(self.winevent_logs)


class _Rules:
    """The current config's watch rules, swapped whole when a new config arrives."""

    def __init__(self, config: Mapping[str, Any] | None) -> None:
        self._rules = rules_from_config(config)
        self._lock = threading.Lock()

    def replace(self, config: Mapping[str, Any]) -> None:
        rules = rules_from_config(config)
        with self._lock:
            self._rules = rules

    def current(self) -> list[WatchRule]:
        with self._lock:
            return self._rules


class Runner:
    def __init__(
        self,
        options: AgentOptions,
        collectors: Sequence[Collector] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.options = options
        # The sources given at start; Windows logs the rules name join them (active()).
        self.collectors = list(options.collectors() if collectors is None else collectors)
        self._winevent: dict[str, WinEventCollector] = {}
        self._winevent_lock = threading.Lock()  # active() runs on the channel's threads too
        self.stop = stop or threading.Event()
        self.wake = threading.Event()  # the shipper's nudge: new items in the outbox
        self.revoked = False
        self._last_errors: dict[str, str] = {}
        options.state_dir.mkdir(parents=True, exist_ok=True)
        _private(options.state_dir)
        self.outbox = Outbox.in_dir(options.state_dir, options.capacity)
        _private(self.outbox.path)
        self.rules = _Rules(self.outbox.get("config"))

    # --- start and stop -------------------------------------------------------

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("signal %d: stopping", signum)
            self.stop.set()
            self.wake.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self) -> int:
        """Until `stop`; the process exit code."""
        try:
            agent_id, key = self.credentials()
        except EnrolmentRefused as error:
            log.error("enrolment refused: %s", error)
            self.outbox.close()
            return EXIT_ENROLMENT_REFUSED
        if self.stop.is_set():
            self.outbox.close()
            return EXIT_OK
        log.info("agent %s running (version %s)", agent_id, self.options.agent_version)
        self.record_start()
        transport = HttpTransport(self.options.server, key)
        shipper = Shipper(
            self.outbox,
            transport,
            batch_size=self.options.batch_size,
            sleep=self.stop.wait,
            stopped=self.stop.is_set,
        )
        threads = [threading.Thread(target=self._ship, args=(shipper,), name="agent-shipper")]
        channel: Channel | None = None
        if self.options.channel:
            channel = Channel(
                self.options.server,
                key,
                self.outbox,
                self.query,
                self.options.agent_version,
                self.stop,
                on_config=self.rules.replace,
                sources=self.sources,
            )
            threads.append(threading.Thread(target=channel.run, name="agent-channel"))
        for thread in threads:
            thread.daemon = True  # a request in flight must not hold up the exit
            thread.start()
        try:
            if channel is not None and not self.outbox.get("config_version"):
                self._await_first_config(channel)
            while not self.stop.is_set():
                self.collect()
                self.stop.wait(self.options.poll_seconds)
        finally:
            self.stop.set()
            self.wake.set()
            for thread in threads:
                thread.join(timeout=5)
            transport.close()
            self.outbox.close()
        return EXIT_REVOKED if self.revoked else EXIT_OK

    def _await_first_config(self, channel: Channel) -> None:
        """Hold the first read until the server had its say: the backlog a new agent
        reads first must meet the watch rules that already exist."""
        waited = time.monotonic()
        while not self.stop.is_set() and time.monotonic() - waited < FIRST_CONFIG_WAIT_S:
            if channel.connected.wait(0.2):
                return
        if not self.stop.is_set():
            log.warning(
                "no config from the server within %.0f s: collecting without watch rules",
                FIRST_CONFIG_WAIT_S,
            )

    def credentials(self) -> tuple[str, str]:
        """The agent id and key: from the state directory, or enrolled for once with the token."""
        agent_id, key = self.outbox.get("agent_id"), self.outbox.get("agent_key")
        if agent_id and key:
            return str(agent_id), str(key)
        if not self.options.token:
            raise EnrolmentRefused("this agent is not enrolled yet: pass --token")
        backoff = Backoff()
        while not self.stop.is_set():
            try:
                answer = httpx.post(
                    self.options.server.rstrip("/") + "/api/v1/agent/enroll",
                    json={
                        "token": self.options.token,
                        "hostname": self.options.hostname[:255],
                        "os": self.options.os_name[:100],
                        "agent_version": self.options.agent_version,
                    },
                    timeout=30,
                )
            except httpx.HTTPError as error:
                log.warning("cannot reach the server to enrol (%s); retrying", error)
            else:
                if answer.status_code == 201:
                    body = answer.json()
                    self.outbox.set(agent_id=body["agent_id"], agent_key=body["agent_key"])
                    log.info("enrolled as agent %s", body["agent_id"])
                    return str(body["agent_id"]), str(body["agent_key"])
                if 400 <= answer.status_code < 500 and answer.status_code != 429:
                    raise EnrolmentRefused(f"HTTP {answer.status_code}: {_message(answer)}")
                log.warning("enrolment answered %d; retrying", answer.status_code)
            self.stop.wait(backoff.next_delay())
        return "", ""

    def record_start(self) -> None:
        """agent_started on every start, agent_self_update when the version changed."""
        now = utc_now()
        version = self.options.agent_version
        items = [
            Item(
                ItemKind.EVENT,
                {
                    "at": iso(now),
                    "kind": "agent_started",
                    "source": "agent:startup",
                    "event_record_id": str(uuid.uuid4()),
                    "payload": {
                        "agent_version": version,
                        "hostname": self.options.hostname,
                        "os": self.options.os_name,
                    },
                },
            )
        ]
        last = self.outbox.get("last_version")
        if last and last != version:
            items.append(
                Item(
                    ItemKind.EVENT,
                    {
                        "at": iso(now),
                        "kind": "agent_self_update",
                        "source": "agent:update",
                        "event_record_id": f"{last}->{version}:{uuid.uuid4()}",
                        "payload": {"from": last, "to": version},
                    },
                )
            )
        self.outbox.set_with_items(items, last_version=version)
        self.wake.set()

    # --- work -----------------------------------------------------------------

    def active(self) -> list[Collector]:
        """The collectors of this pass: those given at start, and on Windows one for each
        log the timeline needs or a current watch rule names (the rules decide what is read).

        A log no rule names any more is no longer read; its watermark stays, so a rule
        naming it again reads on from where it stopped.
        """
        if not self.options.reads_windows_logs:
            return list(self.collectors)
        given = {c.log_name.casefold() for c in self.collectors if isinstance(c, WinEventCollector)}
        wanted: dict[str, str] = {}
        names = [*TIMELINE_LOGS, *(r.log_name for r in self.rules.current())]
        for name in names:
            folded = name.casefold()
            if folded in given or is_journal_log(name) or "'" in name:
                continue  # read already, journald's, or no name Get-WinEvent could take
            wanted.setdefault(folded, name)
        extra: list[Collector] = []
        with self._winevent_lock:
            for folded, name in wanted.items():
                collector = self._winevent.get(folded)
                if collector is None:
                    collector = WinEventCollector(name, self.options.powershell)
                    self._winevent[folded] = collector
                extra.append(collector)
        return [*self.collectors, *extra]

    def sources(self) -> list[str]:
        """Every log this agent reads now, as the hello reports it and the viewer offers."""
        found: dict[str, str] = {}
        for collector in self.active():
            try:
                names = collector.logs()
            except Exception as error:  # a folder gone: the others still count
                log.warning("cannot list the logs of %s: %s", collector.source, error)
                continue
            for name in names:
                found.setdefault(name.casefold(), name)
        return list(found.values())

    def collect(self) -> None:
        """One pass over every collector; a failing one is reported and the others go on."""
        for collector in self.active():
            if self.stop.is_set():
                return
            source = collector.source
            try:
                steps = collector.poll(self.outbox.watermark(source))
                for step in _until(steps, self.stop):
                    result = self.outbox.append(self.items(step), source, step.watermark)
                    if result.kept:
                        self.wake.set()
                self._last_errors.pop(source, None)
            except Exception as error:  # one collector's trouble never stops the agent
                message = f"{source}: {type(error).__name__}: {error}"
                if self._last_errors.get(source) != message:  # once, not every poll
                    log.warning("collector failed: %s", message)
                    self._last_errors[source] = message
                    report = diagnostic("collector_error", message, utc_now(), source=source)
                    self.outbox.append([report])
                    self.wake.set()

    def items(self, step: Step) -> list[Item]:
        rules = self.rules.current()
        now = utc_now()
        items: list[Item] = []
        for entry in step.entries:
            if isinstance(entry, Read):
                if entry.observation is not None:
                    items.append(event_item(entry.observation))
                if entry.record is not None and rules:
                    items.extend(match_items(rules, entry.record, entry.also_in))
            elif isinstance(entry, Damage):
                items.append(damaged_item(entry.where, entry.damage, now))
            elif isinstance(entry, Failure):
                record_id = f"collector_error:{entry.where}:{entry.key}"
                items.append(diagnostic("collector_error", entry.message, now, record_id))
        return items

    def query(self, query: EventLogQuery) -> list[EventRecord]:
        """The on-demand viewer: every collector that holds the log, newest first.

        On Windows any channel can be asked for, collected or not (Get-WinEvent reads
        it once). A log this agent cannot read is answered with what it does read, not
        with an empty list that would look like "nothing happened".
        """
        holders = [c for c in self.active() if c.holds(query.log)]
        if not holders and self._may_read_once(query.log):
            try:
                return WinEventCollector(query.log, self.options.powershell).query(query)
            except OSError as error:
                raise self._not_collected(query.log, f" ({error})") from None
        if not holders:
            raise self._not_collected(query.log)
        found: list[EventRecord] = []
        for collector in holders:
            found.extend(collector.query(query))
        return newest(found, query.limit)

    def _may_read_once(self, log_name: str) -> bool:
        return (
            self.options.reads_windows_logs and not is_journal_log(log_name) and "'" not in log_name
        )

    def _not_collected(self, log_name: str, why: str = "") -> LogNotCollected:
        reads = ", ".join(self.sources()) or "no logs, only its own events"
        return LogNotCollected(
            f"this agent does not collect {log_name}; it reads: {reads}{why}", field="log"
        )

    def _ship(self, shipper: Shipper) -> None:
        while not self.stop.is_set():
            self.wake.clear()  # before draining: an item added meanwhile wakes the next round
            try:
                shipper.drain()
            except Revoked:
                self.revoked = True
                self.stop.set()
                return
            except Exception:
                log.exception("shipping failed; trying again shortly")
                self.stop.wait(5)
            self.wake.wait(self.options.poll_seconds)


def _until(steps: Iterator[Step], stop: threading.Event) -> Iterator[Step]:
    """The steps until the agent stops; the generator is closed, so its source is let go."""
    try:
        for step in steps:
            yield step
            if stop.is_set():
                return
    finally:
        close: Callable[[], None] | None = getattr(steps, "close", None)
        if close is not None:
            close()


def _message(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


def _private(path: Path) -> None:
    """The state holds the agent key: readable by the agent's account only (where chmod works)."""
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
