"""Notifications under hostile names and failing receivers: every copy arrives, intact.

Alerts whose device names are built to break mail headers and chat bodies (line
breaks with header lines, bidi controls, emoji, every script) go through a rule
that notifies two users: one by e-mail, one by e-mail and Slack. The SMTP server
answers "451 try later" to some mails and the chat receiver 500 or 429 with
Retry-After to some posts; the outbox retries with backoff as the clock moves.
In the end every notification's copies must have arrived (no loss), each mail to
its one recipient with no header but those Fleetward wrote, each chat body pure
ASCII that decodes back to the device name, and the chat webhook's secret path in
no API answer.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.rules import RuleActions
from tests.conftest import FAST_PASSWORDS, TenantFixture
from tests.support.aio import run_coroutine
from tests.support.clocks import ManualClock as Clock
from tests.support.pipeline import add_rule, make_client, make_integration, map_org, post, sample
from tests.support.receiver import Receiver, receiver
from tests.support.smtp import SmtpServer, smtp_server
from tests.verify.ledger import Ledger, size

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SECRET_PATH = "/services/T0/B0/not-for-anyone-to-see"
HEADERS_WRITTEN = {
    "subject", "from", "to", "date", "message-id", "auto-submitted",
    "content-type", "content-transfer-encoding", "mime-version",
}  # fmt: skip
PIECES = [
    "Zürich-ПК-東京",
    "\r\nBcc: victim@example.com",
    "\nX-Injected: 1",
    "\u202eevil\u202c",
    "🔥💥",
    "<!channel> @everyone",
    '"quoted" \\ back',
    "ﷺ שלום مرحبا",
    "\u2028\u2029",
    "a" * 200,
]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def chat() -> Iterator[Receiver]:
    with receiver() as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: SmtpServer) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        base_url="https://fleet.example",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=False,
        outbound_allow_cidrs="127.0.0.0/8",
    )


@pytest.fixture
def container(settings: Settings, clock: Clock) -> Iterator[Container]:
    c = build(settings, clock=clock, passwords=FAST_PASSWORDS)
    yield c
    c.close()


def hostile_name(rng: random.Random) -> str:
    return "".join(rng.sample(PIECES, 3))


def test_every_copy_arrives_intact_through_failures(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    smtp: SmtpServer,
    chat: Receiver,
    clock: Clock,
    ledger: Ledger,
) -> None:
    rng = random.Random(15)
    alerts = size(12, 150)
    integration = make_integration(client, tenant, "ninjaone")
    client_id = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, client_id)
    users = (tenant.admin, tenant.operator)
    add_rule(
        container, tenant.id, actions=RuleActions(notify_user_ids=tuple(u.user_id for u in users))
    )
    saved = client.put(
        "/api/v1/users/me/notification-preferences",
        json={
            "chat": {
                "events": ["alert.matched", "ticket.retriggered"],
                "chat_kind": "slack",
                "target": chat.url + SECRET_PATH,
            }
        },
        headers=tenant.operator.headers,
    )
    assert saved.status_code == 200, saved.text
    answers = [saved.text]

    names: dict[str, str] = {}  # ticket id -> device name as Fleetward kept it
    faults = server_errors = 0
    for n in range(alerts):
        if rng.random() < 0.3:
            smtp.temporary_failures += 1
            faults += 1
        if rng.random() < 0.3:
            chat.answer(rng.choice([500, 503]), body=b"down")
            faults += 1
        elif rng.random() < 0.2:
            chat.answer(429, {"Retry-After": "30"})
            faults += 1
        body = sample("ninjaone", "condition_triggered")
        body.update(id=10_000 + n, seriesUid=f"v{n}", deviceId=5000 + n)
        body["device"]["id"] = 5000 + n
        body["device"]["displayName"] = hostile_name(rng)
        answer = post(client, integration, body)
        server_errors += answer.status_code >= 500
        assert answer.status_code == 200, answer.text
        alert_id = answer.json()["alert_id"]
        stored = client.get(f"/api/v1/alerts/{alert_id}", headers=tenant.admin.headers).json()
        names[stored["ticket_id"]] = stored["device_name"]  # each device its own ticket
        run_coroutine(container.jobs.run_until_idle())

    for _ in range(50):  # let every retry come due
        with container.pipeline.uow.read() as repos:
            if not repos.jobs.waiting():
                break
        clock.now += timedelta(minutes=2)
        # Every retry falls due at once here: a few hundred sends at full size.
        run_coroutine(container.jobs.run_until_idle(), timeout=300)

    for actor in users:
        page = client.get("/api/v1/notifications?limit=500", headers=actor.headers)
        server_errors += page.status_code >= 500
        answers.append(page.text)
    answers.append(
        client.get(
            "/api/v1/users/me/notification-preferences", headers=tenant.operator.headers
        ).text
    )

    losses = leaks = 0
    link_of = {f"https://fleet.example/tickets/{t}": t for t in names}
    mails: dict[tuple[str, str], int] = {}
    for mail in smtp.mails:
        headers = {key.lower() for key in mail.message}
        leaks += bool(headers - HEADERS_WRITTEN)
        (recipient,) = mail.recipients
        (link,) = [line.split(": ", 1)[1] for line in mail.text.splitlines() if "Open in" in line]
        mails[(recipient, link_of[link])] = mails.get((recipient, link_of[link]), 0) + 1
    for ticket_id in names:
        for actor in users:
            losses += mails.get((actor.email, ticket_id), 0) != 1

    posted: dict[str, Any] = {}
    for request in chat.requests:
        body = request.body.decode("ascii")  # raises on anything but ASCII
        text = json.loads(body)["text"]
        ticket_id = next(a for link, a in link_of.items() if link in text)
        posted[ticket_id] = text
    for ticket_id, name in names.items():
        text = posted.get(ticket_id)
        escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        losses += text is None or escaped not in text
    leaks += sum(SECRET_PATH in answer for answer in answers)

    ledger.line("notification delivery").add(
        load=alerts * 3,
        faults=faults,
        bad_inputs=alerts,
        losses=losses,
        leaks=leaks,
        server_errors=server_errors,
    )
    assert (losses, leaks, server_errors) == (0, 0, 0)
