"""What a notification's copies say: mail headers without injected lines, chat bodies
in ASCII JSON, masked chat URLs; and no e-mail without an SMTP server."""

from __future__ import annotations

import json
import typing
import uuid
from datetime import UTC, datetime

import pytest

from fleetward.adapters.notify.email import NOT_CONFIGURED, SmtpMailer, SmtpSettings
from fleetward.domain.jobs import JobFailed
from fleetward.domain.notifications import (
    KINDS,
    ChatKind,
    Notification,
    chat_body,
    email_for,
    mask_url,
)
from fleetward.entrypoints.http.routers.notifications import Kind
from tests.support.aio import run_coroutine

LINK = "https://fleet.example/alerts/1"


def note(title: str, body: str = "disk full") -> Notification:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    return Notification(
        uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "alert.matched", title, body, "alert",
        uuid.uuid4(), now, None,
    )  # fmt: skip


def mailer(host: str = "smtp.example") -> SmtpMailer:
    return SmtpMailer(SmtpSettings(host, 587, "", "", "Fleetward <f@fleet.example>", True))


def test_a_title_with_line_breaks_cannot_add_a_mail_header() -> None:
    hostile = "PC-1\r\nBcc: victim@example.com\nX-Evil: 1\u2028Y"
    email = email_for(note(hostile), LINK)
    assert "\n" not in email.subject and "\r" not in email.subject
    message = mailer().message("ops@example.com", email)
    raw = message.as_string()
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert "\nBcc:" not in raw and "\nX-Evil:" not in raw
    assert message["Subject"] == "[Fleetward] PC-1 Bcc: victim@example.com X-Evil: 1 Y"
    assert LINK in email.text


@pytest.mark.parametrize("kind", list(ChatKind))
def test_chat_bodies_are_ascii_and_carry_no_mentions(kind: ChatKind) -> None:
    body = chat_body(kind, note("Zürich-ПК-東京 <!channel> @everyone"), LINK)
    text = body.decode("ascii")
    assert "\\u" in text
    document = json.loads(body)
    flat = json.dumps(document, ensure_ascii=False)
    assert "Zürich-ПК-東京" in flat
    if kind is ChatKind.SLACK:
        assert "<!channel>" not in document["text"]  # escaped, not a ping
    if kind is ChatKind.DISCORD:
        assert document["allowed_mentions"] == {"parse": []}


def test_a_long_message_fits_discord() -> None:
    body = json.loads(chat_body(ChatKind.DISCORD, note("t", "x" * 10_000), LINK))
    assert len(body["content"]) <= 2000 and body["content"].endswith(LINK)


def test_a_chat_url_is_shown_without_its_secret_path() -> None:
    assert mask_url("https://hooks.slack.com/services/T0/B0/secret") == "https://hooks.slack.com/…"


def test_the_api_names_every_kind_there_is() -> None:
    assert typing.get_args(Kind) == KINDS


def test_without_an_smtp_host_an_email_fails_for_good_saying_so() -> None:
    with pytest.raises(JobFailed) as failed:
        run_coroutine(mailer("").send("ops@example.com", email_for(note("t"), LINK)))
    assert failed.value.permanent
    assert str(failed.value) == NOT_CONFIGURED


def test_the_html_alternative_escapes_what_a_sender_wrote() -> None:
    email = email_for(note('<img src=x onerror="alert(1)">', "<script>x</script>\nline 2"), LINK)
    assert "<img" not in email.html and "<script>" not in email.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in email.html
    assert "&lt;script&gt;x&lt;/script&gt;<br>\nline 2" in email.html
    assert f'<a href="{LINK}">' in email.html
