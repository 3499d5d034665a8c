"""Intake traffic against a real `fleetward serve`, and what the database kept of it.

The fault checks (kill -9, a PostgreSQL restart, the soak) share one shape:
client threads send distinct webhooks and agent batches, something goes wrong
on the server's side, what was not acknowledged is sent again (with some that
were, whose replay must change nothing), and then every acknowledged item
must be in the database exactly once. The server process itself is
tests/support/agent_live.LiveServer.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import Connection, create_engine, distinct, func, select

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.database import normalize_url
from fleetward.bootstrap import build
from fleetward.config import Settings
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.identity import Role
from tests.support.agent_live import PASSWORD, LiveServer, wait_for

ADMIN_EMAIL = "admin@verify.test"
Key = tuple[str, ...]  # ("alert", id), ("ticket", alert id) or ("event", pc, source, record id)
# Recent, so the events are within the timeline's retention and its pages' windows.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
REQUEST_TIMEOUT_S = 60.0  # a generous bound on one answer, not a timing
WAIT_S = 180.0  # a generous bound for a stream to reach a fault's moment


def seeded() -> tuple[int, random.Random]:
    """A check's randomness and its seed, for the ledger's note: FLEETWARD_VERIFY_SEED
    runs a failed check's choices again."""
    seed = int(os.environ.get("FLEETWARD_VERIFY_SEED") or random.randrange(2**32))
    return seed, random.Random(seed)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request of intake traffic and the items the database must keep of it."""

    path: str
    body: bytes
    headers: dict[str, str]
    keys: tuple[Key, ...]
    is_webhook: bool

    def replay_changed_nothing(self, answer: httpx.Response) -> bool:
        """A replay of an acknowledged delivery answers that nothing was new."""
        body = answer.json()
        if self.is_webhook:
            return bool(body["result"] == "duplicate")
        return bool(body["accepted"] == 0)


@dataclass
class Answers:
    """Every answer the senders got, kept by threads; 0 is "no answer at all"."""

    acknowledged: list[Delivery] = field(default_factory=list)
    refused: list[Delivery] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    replays_that_changed_something: int = 0
    # (sent, answered, status) of every request, in time.monotonic() seconds
    timeline: list[tuple[float, float, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(
        self, delivery: Delivery, answer: httpx.Response | None, replay: bool, sent: float
    ) -> None:
        status = 0 if answer is None else answer.status_code
        with self.lock:
            self.statuses[status] += 1
            self.timeline.append((sent, time.monotonic(), status))
            if not 200 <= status < 300:
                self.refused.append(delivery)
                return
            self.acknowledged.append(delivery)
            if replay and answer is not None and not delivery.replay_changed_nothing(answer):
                self.replays_that_changed_something += 1

    @property
    def answered(self) -> int:
        """Requests that got an HTTP answer of any kind."""
        with self.lock:
            return self.statuses.total() - self.statuses[0]

    def server_errors(self) -> int:
        with self.lock:
            return sum(n for status, n in self.statuses.items() if status >= 500)


Source = Callable[[], Delivery | None]


def from_list(deliveries: Iterable[Delivery]) -> Source:
    """Each delivery once, to whichever sender thread asks first."""
    remaining = iter(list(deliveries))
    lock = threading.Lock()

    def take() -> Delivery | None:
        with lock:
            return next(remaining, None)

    return take


def send(
    url: str, source: Source, answers: Answers, threads: int = 4, replay: bool = False
) -> None:
    """Client threads, each with its own keep-alive connection, send what `source`
    gives until it gives None; every answer (or none) is recorded in `answers`."""
    failures: list[BaseException] = []

    def sender() -> None:
        try:
            with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
                while (delivery := source()) is not None:
                    sent = time.monotonic()
                    try:
                        answer: httpx.Response | None = client.post(
                            delivery.path, content=delivery.body, headers=delivery.headers
                        )
                    except httpx.TransportError:
                        answer = None  # refused, reset or cut off: not acknowledged
                    answers.record(delivery, answer, replay, sent)
        except BaseException as error:  # re-raised in the test's thread
            failures.append(error)

    workers = [threading.Thread(target=sender, name=f"sender-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]


Fault = Callable[[threading.Event], None]  # does its harm, then returns; gives up on stop


@contextmanager
def alongside(fault: Fault, stop: threading.Event) -> Iterator[None]:
    """Run `fault(stop)` in a thread while the block sends. `stop` is set when the
    fault is done (or failed, or the block failed), which ends the senders' stream;
    the fault's error is raised here. A fault waiting for something should also
    give up once `stop` is set."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            fault(stop)
        except BaseException as error:
            failures.append(error)
        finally:
            stop.set()

    thread = threading.Thread(target=run, name="fault")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if failures:
        raise failures[0]


def until(condition: Callable[[], bool], stop: threading.Event, what: str) -> bool:
    """Wait for `condition`; False if `stop` was set first (the stream ended)."""
    wait_for(lambda: stop.is_set() or condition(), WAIT_S, what, interval=0.01)
    return not stop.is_set()


@dataclass
class Traffic:
    """Distinct webhooks (each a new alert that opens its own ticket) and agent batches
    (each of new timeline events) for one server's tenant."""

    server: LiveServer
    integration_id: str
    webhook_path: str
    webhook_secret: str
    agents: list[tuple[str, str]]  # (agent id, agent key)
    numbers: Iterator[int] = field(default_factory=itertools.count)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def prepare(cls, server: LiveServer, agents: int = 2) -> Traffic:
        """A client, a rule that opens a ticket for every alert, a generic integration
        and `agents` enrolled agents, all through the API."""
        client_id = _created(server.api("POST", "/api/v1/clients", json={"name": "Verify"}))["id"]
        _created(server.api("POST", "/api/v1/alert-rules", json={"name": "every alert"}))
        integration = _created(
            server.api(
                "POST",
                "/api/v1/integrations",
                json={
                    "provider": "generic",
                    "name": "verify",
                    "settings": {"default_client_id": client_id},
                },
            )
        )
        site = _created(
            server.api("POST", f"/api/v1/clients/{client_id}/sites", json={"name": "HQ"})
        )
        token = _created(
            server.api("POST", "/api/v1/enrollment-tokens", json={"site_id": site["id"]})
        )["token"]
        enrolled = []
        for i in range(agents):
            body = {"token": token, "hostname": f"PC-{i}", "os": "Windows 11", "agent_version": "1"}
            found = _created(httpx.post(server.url + "/api/v1/agent/enroll", json=body))
            enrolled.append((str(found["agent_id"]), str(found["agent_key"])))
        return cls(
            server,
            str(integration["id"]),
            urlsplit(integration["webhook_url"]).path,
            integration["webhook_secret"],
            enrolled,
        )

    def _next(self) -> int:
        with self.lock:
            return next(self.numbers)

    def webhook(self) -> Delivery:
        n = self._next()
        alert_id = f"verify-{n}"
        body = {
            "kind": "triggered",
            "external_alert_id": alert_id,
            "series_key": alert_id,
            "device": {"external_id": f"pc-{n % 40}", "name": f"PC {n % 40}"},
            "severity": ("critical", "major", "moderate", "minor")[n % 4],
            "title": f"Check {n} failed",
            "condition_identity": f"check-{n}",  # its own ticket, not a re-trigger
            "message": f"Check {n} failed three times in a row.",
            "occurred_at": (T0 + timedelta(seconds=n)).isoformat(),
        }
        headers = {"X-Fleetward-Token": self.webhook_secret, "Content-Type": "application/json"}
        keys = (("alert", alert_id), ("ticket", alert_id))
        return Delivery(self.webhook_path, orjson.dumps(body), headers, keys, True)

    def batch(self, size: int) -> Delivery:
        n = self._next()
        agent_id, agent_key = self.agents[n % len(self.agents)]
        source = "winlog:Security"
        events = [
            {
                "at": (T0 + timedelta(seconds=n, milliseconds=i)).isoformat(),
                "kind": ("logon", "logoff")[i % 2],
                "source": source,
                "event_record_id": f"{n}-{i}",
                "payload": {"user": f"user{i % 5}", "logon_type": 2},
            }
            for i in range(size)
        ]
        headers = {"Authorization": f"Bearer {agent_key}", "Content-Type": "application/json"}
        keys = tuple(("event", agent_id, source, f"{n}-{i}") for i in range(size))
        body = orjson.dumps({"events": events})
        return Delivery("/api/v1/agent/events", body, headers, keys, False)

    def mix(self, batch_size: int, stop: threading.Event, batch_every: int = 4) -> Source:
        """New deliveries until `stop` is set: a batch of `batch_size` events after
        every `batch_every` webhooks."""
        turns = itertools.count()
        lock = threading.Lock()

        def take() -> Delivery | None:
            if stop.is_set():
                return None
            with lock:
                turn = next(turns)
            return (
                self.batch(batch_size)
                if turn % (batch_every + 1) == batch_every
                else self.webhook()
            )

        return take

    def stored(self) -> tuple[Counter[Key], int]:
        """What the database holds of this traffic, read directly: each key's count,
        and tickets of the tenant that no alert points at (a duplicate ticket)."""
        engine = create_engine(normalize_url(self.server.database_url or self._sqlite_url()))
        try:
            with engine.connect() as conn:
                return _stored(conn, self.integration_id)
        finally:
            engine.dispose()

    def _sqlite_url(self) -> str:
        return f"sqlite:///{(Path(self.server.data_dir) / 'fleetward.db').resolve()}"


def _stored(conn: Connection, integration_id: str) -> tuple[Counter[Key], int]:
    alert, ticket, obs_event = schema.alert, schema.ticket, schema.obs_event
    integration = uuid.UUID(integration_id)
    counts: Counter[Key] = Counter()
    rows = conn.execute(
        select(alert.c.external_alert_id, func.count(), func.count(alert.c.ticket_id))
        .where(alert.c.integration_id == integration)
        .group_by(alert.c.external_alert_id)
    )
    for external_id, alerts, with_ticket in rows:
        counts["alert", external_id] += alerts
        counts["ticket", external_id] += with_ticket
    events = conn.execute(
        select(
            obs_event.c.pc_id, obs_event.c.source, obs_event.c.event_record_id, func.count()
        ).group_by(obs_event.c.pc_id, obs_event.c.source, obs_event.c.event_record_id)
    )
    for pc_id, source, record_id, found in events:
        counts["event", str(pc_id), source, record_id] += found
    tenant = select(schema.integration.c.tenant_id).where(schema.integration.c.id == integration)
    tickets = conn.execute(
        select(func.count()).where(ticket.c.tenant_id == tenant.scalar_subquery())
    )
    linked = conn.execute(
        select(func.count(distinct(alert.c.ticket_id))).where(alert.c.integration_id == integration)
    )
    return counts, int(tickets.scalar_one()) - int(linked.scalar_one())


@dataclass
class Cycles:
    """Fault cycles of one check and what they add up to.

    A cycle: a stream of new deliveries with the fault beside it, `recover()`
    (a restart, say), then everything refused sent again, and a few that were
    acknowledged, whose replays must change nothing."""

    traffic: Traffic
    chance: random.Random
    batch_size: int
    senders: int = 4
    replays: int = 20
    answers: Answers = field(default_factory=Answers)  # every request: load, 5xx, timeline
    acknowledged: list[Delivery] = field(default_factory=list)
    replays_changed: int = 0
    refused_again: int = 0

    def run(self, fault: Callable[[Answers], Fault], recover: Callable[[], None]) -> None:
        url = self.traffic.server.url
        stream, stop = Answers(), threading.Event()
        with alongside(fault(stream), stop):
            send(url, self.traffic.mix(self.batch_size, stop), stream, self.senders)
        recover()
        resent = Answers()
        send(url, from_list(stream.refused), resent, self.senders)
        replays = self.chance.sample(
            stream.acknowledged, min(self.replays, len(stream.acknowledged))
        )
        send(url, from_list(replays), resent, self.senders, replay=True)
        for answers in (stream, resent):
            self.answers.statuses.update(answers.statuses)
            self.answers.timeline += answers.timeline
        self.acknowledged += stream.acknowledged + resent.acknowledged
        self.replays_changed += resent.replays_that_changed_something
        self.refused_again += len(resent.refused)

    def losses(self) -> int:
        """Acknowledged items missing or stored twice, duplicate tickets, and replays
        that changed something."""
        stored, stray_tickets = self.traffic.stored()
        return losses(self.acknowledged, stored, stray_tickets) + self.replays_changed


def losses(acknowledged: Iterable[Delivery], stored: Counter[Key], stray_tickets: int) -> int:
    """Acknowledged items missing or stored more than once, and duplicate tickets."""
    keys = {key for delivery in acknowledged for key in delivery.keys}
    return sum(1 for key in keys if stored[key] != 1) + stray_tickets


@contextmanager
def fleetward_server(
    tmp_path: Path, database_url: str = "", env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """`fleetward serve` (SQLite in its data directory unless `database_url` says
    otherwise, `env` adding FLEETWARD_* settings) with a tenant and an admin key;
    stopped when the block ends, also when it failed to start."""
    data = tmp_path / "server"
    data.mkdir()
    live = LiveServer(data, database_url, env=dict(env or {}))
    initialise(live)
    try:
        live.start()
        yield live
    finally:
        live.stop()


def initialise(live: LiveServer) -> None:
    """What LiveServer.initialise() does with four CLI processes, in this one: the
    database, a tenant, an admin and their API key (each process start costs
    seconds on a busy machine)."""
    settings = Settings(data_dir=live.data_dir, database_url=live.database_url)
    container = build(settings, migrate_schema=True)
    try:
        tenant = container.identity.create_tenant("Verify MSP")
        admin = container.identity.create_user(
            SYSTEM_CLI, tenant.id, ADMIN_EMAIL, Role.ADMIN, PASSWORD
        )
        _, live.api_key = container.identity.create_api_key(SYSTEM_CLI, admin, "verify")
    finally:
        container.close()


def _created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def logged_in(server: LiveServer, password: str = PASSWORD) -> httpx.Client:
    """A browser-like client after the dashboard's login form (its CSRF cookie and field)."""
    browser = httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S)
    form = browser.get("/login")
    assert form.status_code == 200, form.text
    csrf = browser.cookies.get("fw_login_csrf", "")
    answer = browser.post(
        "/login", data={"email": ADMIN_EMAIL, "password": password, "csrf_token": csrf}
    )
    assert answer.status_code == 303, answer.text
    return browser
