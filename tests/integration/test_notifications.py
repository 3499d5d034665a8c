"""Notifications end to end: a rule naming users, a webhook, and what each user gets:
the in-app row, e-mail really received by an SMTP server, chat bodies received by an
HTTP receiver; per-user preferences honoured, failed deliveries retried and shown."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.adapters.notify.chat import ChatWebhooks
from fleetward.adapters.outbound import OutboundHttp
from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.jobs import FIRST_RETRY, JobFailed
from fleetward.domain.rules import RuleActions
from tests.conftest import FAST_PASSWORDS, Actor, TenantFixture
from tests.support.aio import run_coroutine
from tests.support.clocks import ManualClock as Clock
from tests.support.pipeline import add_rule, make_client, make_integration, map_org, post, sample
from tests.support.receiver import Receiver, receiver
from tests.support.smtp import SmtpServer, smtp_server

pytestmark = pytest.mark.sqlite_only

BASE_URL = "https://fleet.example"
DEVICE = "Zürich-ПК-東京"


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
        base_url=BASE_URL,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=False,
        smtp_from="Fleetward <noreply@fleet.example>",
        outbound_allow_cidrs="127.0.0.0/8",
    )


@pytest.fixture
def container(settings: Settings, clock: Clock) -> Iterator[Container]:
    c = build(settings, clock=clock, passwords=FAST_PASSWORDS)
    yield c
    c.close()


@pytest.fixture
def ninja(client: TestClient, tenant: TenantFixture) -> dict[str, Any]:
    integration = make_integration(client, tenant, "ninjaone")
    integration["client_id"] = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, integration["client_id"])
    return integration


def notify_rule(container: Container, tenant: TenantFixture, *users: Actor, **actions: Any) -> None:
    add_rule(
        container,
        tenant.id,
        actions=RuleActions(notify_user_ids=tuple(u.user_id for u in users), **actions),
    )


def trigger(activity_id: int, device_name: str = "PC-1042", device: int = 1042) -> dict[str, Any]:
    body = sample("ninjaone", "condition_triggered")
    body.update(id=activity_id, seriesUid=f"s{activity_id}", deviceId=device)
    body["device"]["id"] = device
    body["device"]["displayName"] = device_name
    return body


def run_jobs(container: Container) -> None:
    run_coroutine(container.jobs.run_until_idle())


def mine(client: TestClient, actor: Actor, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/notifications{query}", headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def put_preferences(client: TestClient, actor: Actor, body: dict[str, Any]) -> Any:
    return client.put("/api/v1/users/me/notification-preferences", json=body, headers=actor.headers)


def test_users_a_rule_names_get_an_in_app_notification_and_an_email_with_a_link(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    ninja: dict[str, Any],
    smtp: SmtpServer,
) -> None:
    notify_rule(container, tenant, tenant.admin, tenant.operator)
    answer = post(client, ninja, trigger(1))
    assert answer.json()["result"] == "created"
    alert_id = answer.json()["alert_id"]
    ticket_id = client.get(f"/api/v1/alerts/{alert_id}", headers=tenant.admin.headers).json()[
        "ticket_id"
    ]

    (note,) = mine(client, tenant.admin)
    assert note["kind"] == "alert.matched"
    assert note["title"].startswith("#1 ")
    assert "PC-1042" in note["title"]
    for line in ("Device: PC-1042", "Client: Contoso", "Severity:", "Ticket #1 opened"):
        assert line in note["body"]
    assert note["ref_type"] == "ticket" and note["ref_id"] == ticket_id
    assert note["read_at"] is None
    assert [(d["channel"], d["status"]) for d in note["deliveries"]] == [("email", "pending")]
    assert mine(client, tenant.readonly) == []  # not named by the rule

    run_jobs(container)
    by_recipient = {tuple(m.recipients): m for m in smtp.mails}
    assert set(by_recipient) == {(tenant.admin.email,), (tenant.operator.email,)}
    mail = by_recipient[(tenant.admin.email,)]
    assert mail.message["To"] == tenant.admin.email
    assert mail.message["Subject"].startswith("[Fleetward] #1 ")
    assert "PC-1042" in mail.message["Subject"]
    assert f"{BASE_URL}/tickets/{ticket_id}" in mail.text
    html_part = mail.message.get_body(("html",))
    assert html_part is not None
    assert f'href="{BASE_URL}/tickets/{ticket_id}"' in html_part.get_content()  # type: ignore[attr-defined]
    (note,) = mine(client, tenant.admin)
    (delivery,) = note["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("done", 1, None)


def test_a_rule_that_creates_no_ticket_still_notifies(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    ninja: dict[str, Any],
    smtp: SmtpServer,
) -> None:
    notify_rule(container, tenant, tenant.operator, create_ticket=False)
    answer = post(client, ninja, trigger(1))
    assert answer.json()["result"] == "recorded"
    (note,) = mine(client, tenant.operator)
    assert note["kind"] == "alert.matched"
    assert "No ticket" in note["body"]
    assert (note["ref_type"], note["ref_id"]) == ("alert", answer.json()["alert_id"])
    run_jobs(container)
    (mail,) = smtp.mails
    assert mail.recipients == [tenant.operator.email]
    assert f"{BASE_URL}/alerts/{answer.json()['alert_id']}" in mail.text


def test_a_user_whose_email_preference_is_off_gets_no_mail_but_the_in_app_one(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    ninja: dict[str, Any],
    smtp: SmtpServer,
) -> None:
    notify_rule(container, tenant, tenant.admin, tenant.operator)
    off = put_preferences(client, tenant.operator, {"email": {"events": []}})
    assert off.status_code == 200, off.text
    assert off.json()["email"] == {"events": [], "customized": True}
    assert off.json()["in_app"]["customized"] is False

    post(client, ninja, trigger(1))
    run_jobs(container)
    assert [m.recipients for m in smtp.mails] == [[tenant.admin.email]]
    (note,) = mine(client, tenant.operator)
    assert note["deliveries"] == []

    # In-app off too, for this kind only: no row at all for that user.
    put_preferences(client, tenant.operator, {"in_app": {"events": ["alert.flapping"]}})
    post(client, ninja, trigger(2, device=2000))
    assert len(mine(client, tenant.operator)) == 1
    assert len(mine(client, tenant.admin)) == 2


def test_preferences_start_as_the_defaults_and_are_each_users_own(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    got = client.get("/api/v1/users/me/notification-preferences", headers=tenant.admin.headers)
    assert got.status_code == 200
    body = got.json()
    kinds = ["alert.matched", "ticket.retriggered", "alert.flapping"]
    assert body["kinds"] == kinds
    assert body["in_app"] == {"events": kinds, "customized": False}
    assert body["email"] == {"events": kinds, "customized": False}
    assert body["chat"] == {"events": [], "customized": False, "chat_kind": None, "target": None}

    put_preferences(client, tenant.admin, {"email": {"events": ["alert.matched"]}})
    for someone in (tenant.operator, other_tenant.admin):
        theirs = client.get("/api/v1/users/me/notification-preferences", headers=someone.headers)
        assert theirs.json()["email"]["customized"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": {"events": ["alert.matched", "bogus"]}}, "email.events.1"),
        ({"email": {"events": "alert.matched"}}, "email.events"),
        ({"sms": {"events": []}}, "sms"),
        ({"chat": {"events": ["alert.matched"], "chat_kind": "irc"}}, "chat.chat_kind"),
        ({"chat": {"events": ["alert.matched"], "chat_kind": "slack"}}, "chat.target"),
        (
            {"chat": {"events": ["alert.matched"], "target": "https://hooks.example/x"}},
            "chat.chat_kind",
        ),
        (
            {"chat": {"events": [], "chat_kind": "slack", "target": "ftp://hooks.example/x"}},
            "chat.target",
        ),
        (
            {"chat": {"events": [], "chat_kind": "slack", "target": "https://u:p@hooks.example/"}},
            "chat.target",
        ),
    ],
)
def test_bad_preferences_are_refused_naming_the_field(
    client: TestClient, tenant: TenantFixture, body: dict[str, Any], field: str
) -> None:
    answer = put_preferences(client, tenant.operator, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field


@pytest.mark.parametrize("kind", ["slack", "teams", "discord"])
def test_chat_bodies_are_ascii_json_and_decode_back_to_the_device_name(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    ninja: dict[str, Any],
    chat: Receiver,
    kind: str,
) -> None:
    notify_rule(container, tenant, tenant.operator)
    hook = f"{chat.url}/services/T000/B000/very-secret-token"
    saved = put_preferences(
        client,
        tenant.operator,
        {
            "email": {"events": []},
            "chat": {"events": ["alert.matched"], "chat_kind": kind, "target": hook},
        },
    )
    assert saved.status_code == 200, saved.text
    shown = client.get("/api/v1/users/me/notification-preferences", headers=tenant.operator.headers)
    assert shown.json()["chat"]["target"] == "http://127.0.0.1/…"
    assert "very-secret-token" not in shown.text

    post(client, ninja, trigger(1, device_name=DEVICE))
    run_jobs(container)
    (request,) = chat.requests
    assert request.method == "POST"
    assert request.path == "/services/T000/B000/very-secret-token"
    assert request.headers["Content-Type"] == "application/json"
    request.body.decode("ascii")  # pure ASCII: every other character a \u escape
    assert "\\u" in request.body.decode("ascii")
    document = json.loads(request.body)
    text = {
        "slack": lambda d: d["text"],
        "teams": lambda d: d["title"] + d["text"],
        "discord": lambda d: d["content"],
    }[kind](document)
    assert DEVICE in text
    if kind == "teams":
        assert document["@type"] == "MessageCard"
        (action,) = document["potentialAction"]
        assert action["targets"][0]["uri"].startswith(f"{BASE_URL}/tickets/")
    else:
        assert f"{BASE_URL}/tickets/" in text


def test_a_chat_webhook_failing_is_retried_with_backoff_and_shown_on_the_notification(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    ninja: dict[str, Any],
    chat: Receiver,
    clock: Clock,
) -> None:
    notify_rule(container, tenant, tenant.operator)
    put_preferences(
        client,
        tenant.operator,
        {
            "email": {"events": []},
            "chat": {"events": ["alert.matched"], "chat_kind": "slack", "target": chat.url},
        },
    )
    chat.answer(500, body=b"internal error")
    post(client, ninja, trigger(1))
    run_jobs(container)
    (note,) = mine(client, tenant.operator)
    (delivery,) = note["deliveries"]
    assert delivery["channel"] == "chat"
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    assert delivery["last_status_code"] == 500
    assert "500" in delivery["last_error"]

    run_jobs(container)  # not due before its backoff
    assert len(chat.requests) == 1
    clock.now += FIRST_RETRY
    run_jobs(container)
    assert len(chat.requests) == 2
    (note,) = mine(client, tenant.operator)
    (delivery,) = note["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("done", 2, None)
    assert chat.requests[0].body == chat.requests[1].body


def test_own_notifications_only_read_marks_unread_count_and_pages(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    ninja: dict[str, Any],
) -> None:
    notify_rule(container, tenant, tenant.operator)
    for n in range(3):
        post(client, ninja, trigger(n + 1, device=1000 + n))
    headers = tenant.operator.headers

    def unread(actor: Actor) -> int:
        answer = client.get("/api/v1/notifications/unread-count", headers=actor.headers)
        assert answer.status_code == 200
        count: int = answer.json()["unread"]
        return count

    assert unread(tenant.operator) == 3 and unread(tenant.admin) == 0
    first = client.get("/api/v1/notifications?limit=2", headers=headers).json()
    assert len(first["items"]) == 2 and first["next"]
    rest = client.get(f"/api/v1/notifications?limit=2&cursor={first['next']}", headers=headers)
    assert len(rest.json()["items"]) == 1 and rest.json()["next"] is None
    everything = first["items"] + rest.json()["items"]
    assert ["PC" in n["title"] for n in everything] == [True] * 3
    assert [n["created_at"] for n in everything] == sorted(
        (n["created_at"] for n in everything), reverse=True
    )
    newest = everything[0]["id"]

    for stranger in (tenant.admin, other_tenant.admin):
        for answer in (
            client.post(f"/api/v1/notifications/{newest}/read", headers=stranger.headers),
            client.get(f"/api/v1/notifications/{newest}", headers=stranger.headers),
        ):
            assert answer.status_code == 404, answer.text
    assert unread(tenant.operator) == 3

    marked = client.post(f"/api/v1/notifications/{newest}/read", headers=headers)
    assert marked.status_code == 200 and marked.json()["read_at"] is not None
    assert unread(tenant.operator) == 2
    still = [n["id"] for n in mine(client, tenant.operator, "?unread=true")]
    assert newest not in still and len(still) == 2
    assert client.post("/api/v1/notifications/read-all", headers=headers).json() == {"marked": 2}
    assert unread(tenant.operator) == 0
    assert mine(client, tenant.operator, "?unread=true") == []
    missing = client.post(f"/api/v1/notifications/{uuid.uuid4()}/read", headers=headers)
    assert missing.status_code == 404


def test_a_suppressed_or_unmatched_alert_notifies_nobody(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    integration = make_integration(client, tenant, "ninjaone")  # organisation 7 unmapped
    notify_rule(container, tenant, tenant.operator)
    assert post(client, integration, trigger(1)).json()["result"] == "recorded"
    assert mine(client, tenant.operator) == []


def test_an_email_refused_for_good_is_not_retried_and_says_why(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    ninja: dict[str, Any],
    smtp: SmtpServer,
    clock: Clock,
) -> None:
    notify_rule(container, tenant, tenant.operator)
    smtp.refuse = "550 5.1.1 mailbox unavailable"
    post(client, ninja, trigger(1))
    run_jobs(container)
    clock.now += timedelta(hours=1)
    run_jobs(container)
    (note,) = mine(client, tenant.operator)
    (delivery,) = note["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    assert "550" in delivery["last_error"]
    assert smtp.mails == []


def test_a_chat_webhook_on_a_private_address_is_refused_without_the_allow_list(
    chat: Receiver,
) -> None:
    """The outbound policy applies to chat webhooks: 127.0.0.1 is not listed here."""
    poster = ChatWebhooks(OutboundHttp(()))
    with pytest.raises(JobFailed) as refused:
        run_coroutine(poster.post(f"{chat.url}/hook", b"{}"))
    assert refused.value.permanent
    assert "FLEETWARD_OUTBOUND_ALLOW_CIDRS" in str(refused.value)
    assert chat.requests == []


def test_a_retriggered_open_ticket_is_its_own_kind_and_can_be_turned_off(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    ninja: dict[str, Any],
    smtp: SmtpServer,
) -> None:
    notify_rule(container, tenant, tenant.operator)
    put_preferences(client, tenant.operator, {"email": {"events": ["alert.matched"]}})
    post(client, ninja, trigger(1))
    post(client, ninja, trigger(2))  # the same device and condition: the open ticket
    newest, first = mine(client, tenant.operator)
    assert first["kind"] == "alert.matched"
    assert newest["kind"] == "ticket.retriggered"
    assert "Ticket #1 re-triggered: occurrence 2" in newest["body"]
    assert newest["deliveries"] == []  # e-mail carries alert.matched only
    run_jobs(container)
    assert len(smtp.mails) == 1
