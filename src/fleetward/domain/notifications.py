"""Notifications: who hears of what, on which channel, and the text each channel gets.

A notification is a row a user sees in the dashboard (in-app); e-mail and chat
copies of it are outbox jobs. Which channels carry which kinds is the user's
preference per channel; a channel without a stored preference has its default
(DEFAULT_EVENTS): in-app and e-mail carry every kind, chat nothing until the user
names a chat webhook. Everything a sender supplies (device names, messages) ends
up in mail headers and chat JSON, so the text is cleaned here, once: headers get
no line breaks, chat bodies are ASCII JSON with \\u escapes.
"""

from __future__ import annotations

import enum
import html
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit


class Channel(enum.StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    CHAT = "chat"


class ChatKind(enum.StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    DISCORD = "discord"


# The kinds of notification there are; preferences name them. Other parts of
# Fleetward send their own kinds through services/notifications.notify().
ALERT_MATCHED = "alert.matched"  # a rule naming users matched a new alert
TICKET_RETRIGGERED = "ticket.retriggered"  # ...and it re-triggered an open ticket
ALERT_FLAPPING = "alert.flapping"  # a condition keeps triggering and resetting
KINDS: tuple[str, ...] = (ALERT_MATCHED, TICKET_RETRIGGERED, ALERT_FLAPPING)

DEFAULT_EVENTS: dict[Channel, tuple[str, ...]] = {
    Channel.IN_APP: KINDS,
    Channel.EMAIL: KINDS,
    Channel.CHAT: (),
}

# The outbox job kind that delivers a notification on a channel, and back.
JOB_KINDS: dict[Channel, str] = {Channel.EMAIL: "notify.email", Channel.CHAT: "notify.chat"}
CHANNEL_OF_JOB = {kind: channel for channel, kind in JOB_KINDS.items()}
REF_TYPE = "notification"

MAX_TITLE = 500
MAX_BODY = 4000
MAX_SUBJECT = 200
# Discord refuses content over 2,000 characters; the others take more.
MAX_CHAT_TEXT = 1900


@dataclass(frozen=True, slots=True)
class Notification:
    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    title: str
    body: str
    ref_type: str | None
    ref_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChannelPreference:
    """What one channel carries for one user. `target` is the chat webhook URL,
    sealed at rest (None for the other channels)."""

    channel: Channel
    events: tuple[str, ...]
    chat_kind: ChatKind | None = None
    target: str | None = None


def default_preference(channel: Channel) -> ChannelPreference:
    return ChannelPreference(channel, DEFAULT_EVENTS[channel])


def effective(stored: dict[Channel, ChannelPreference]) -> dict[Channel, ChannelPreference]:
    """A user's preference for every channel: the stored one, else the default."""
    return {channel: stored.get(channel) or default_preference(channel) for channel in Channel}


def wants(preference: ChannelPreference, kind: str) -> bool:
    if kind not in preference.events:
        return False
    return preference.channel is not Channel.CHAT or (
        preference.chat_kind is not None and bool(preference.target)
    )


def mask_url(url: str) -> str:
    """A chat webhook URL as shown back: its host only, the secret path hidden."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str, limit: int) -> str:
    """`text` as a mail header or title may hold it: no CR, LF or other control
    characters (so no header can be injected), at most `limit` characters."""
    cleaned = " ".join(_CONTROL.sub(" ", text).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def link_for(base_url: str, ref_type: str | None, ref_id: uuid.UUID | None) -> str:
    """Where the dashboard shows what a notification is about."""
    base = base_url.rstrip("/")
    if ref_type in ("alert", "ticket") and ref_id is not None:
        return f"{base}/{ref_type}s/{ref_id}"
    return f"{base}/notifications"


@dataclass(frozen=True, slots=True)
class Email:
    subject: str
    text: str
    html: str


def email_for(notification: Notification, link: str) -> Email:
    """A plain-text mail with an HTML alternative; everything a sender supplied is
    escaped in the HTML, and the subject is one cleaned line."""
    subject = one_line(f"[Fleetward] {notification.title}", MAX_SUBJECT)
    text = f"{notification.title}\n\n{notification.body}\n\nOpen in Fleetward: {link}\n"
    body = "<br>\n".join(html.escape(line) for line in notification.body.split("\n"))
    markup = (
        "<!doctype html>\n<html><body>\n"
        f"<h2>{html.escape(notification.title)}</h2>\n<p>{body}</p>\n"
        f'<p><a href="{html.escape(link, quote=True)}">Open in Fleetward</a></p>\n'
        "</body></html>\n"
    )
    return Email(subject, text, markup)


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup (links, mentions such as <!channel>).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chat_body(kind: ChatKind, notification: Notification, link: str) -> bytes:
    """The JSON a chat service's incoming webhook takes, in ASCII: every non-ASCII
    character as a \\u escape (some chat services refused raw UTF-8 bodies)."""
    title = one_line(notification.title, 250)
    text = cut(notification.body, MAX_CHAT_TEXT - len(title) - len(link) - 40)
    document: dict[str, object]
    if kind is ChatKind.SLACK:
        document = {
            "text": f"*{_slack_escape(title)}*\n{_slack_escape(text)}\n<{link}|Open in Fleetward>"
        }
    elif kind is ChatKind.TEAMS:
        # A MessageCard: what Teams' incoming webhooks (and Workflows) accept.
        document = {
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "summary": title,
            "title": title,
            "text": text.replace("\n", "  \n"),
            "potentialAction": [
                {
                    "@type": "OpenUri",
                    "name": "Open in Fleetward",
                    "targets": [{"os": "default", "uri": link}],
                }
            ],
        }
    else:
        # No @everyone or role pings from a device name or message.
        document = {
            "content": f"**{title}**\n{text}\n{link}",
            "allowed_mentions": {"parse": []},
        }
    return json.dumps(document, ensure_ascii=True).encode("ascii")
