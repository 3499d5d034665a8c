"""The notification centre: a person's own notifications and preferences, and the
delivery of their e-mail and chat copies (the JobRunner's handlers, bootstrap.py).

Notifications are written by services/notifications.notify(); each copy's job
(kind notify.email or notify.chat, ref_type "notification") shows on it as a
delivery: channel, status, attempts and last error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from fleetward.domain.errors import InvalidInput, NotFound
from fleetward.domain.identity import Principal
from fleetward.domain.jobs import Job, JobFailed
from fleetward.domain.notifications import (
    CHANNEL_OF_JOB,
    REF_TYPE,
    Channel,
    ChannelPreference,
    ChatKind,
    Email,
    Notification,
    chat_body,
    effective,
    email_for,
    link_for,
    mask_url,
)
from fleetward.domain.outbound import check_url
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, Repositories, UnitOfWork
from fleetward.services.webhooks import SecretBox, reseal_each

UNREADABLE_TARGET = "unreadable with the configured FLEETWARD_SECRET_KEY: save it again"


class MailSender(Protocol):
    """Sends one e-mail (adapters/notify/email.py); raises JobFailed when it cannot."""

    async def send(self, to: str, email: Email) -> None: ...


class ChatPoster(Protocol):
    """POSTs a JSON body to a chat webhook (adapters/notify/chat.py); raises JobFailed."""

    async def post(self, url: str, body: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One channel's copy of a notification, as its job stands."""

    channel: str
    status: str
    attempts: int
    last_error: str | None
    last_status_code: int | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class NotificationView:
    notification: Notification
    deliveries: list[Delivery]


def deliveries_of(repos: Repositories, notification: Notification) -> list[Delivery]:
    jobs = repos.jobs.about(notification.tenant_id, REF_TYPE, notification.id)
    return [
        Delivery(
            CHANNEL_OF_JOB.get(job.kind, job.kind),
            job.status.value,
            job.attempts,
            job.last_error,
            job.last_status_code,
            job.finished_at,
        )
        for job in sorted(jobs, key=lambda j: j.kind)
    ]


@dataclass(frozen=True, slots=True)
class ShownPreference:
    """A channel's preference as the API shows it: the chat URL masked."""

    channel: Channel
    events: tuple[str, ...]
    customized: bool
    chat_kind: ChatKind | None = None
    target: str | None = None


@dataclass(frozen=True, slots=True)
class PreferenceChange:
    """One channel's new preference; for chat, `target` None keeps the stored URL."""

    channel: Channel
    events: tuple[str, ...]
    chat_kind: ChatKind | None = None
    target: str | None = None


class NotificationService:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        probes: CrossTenantProbes,
        secrets: SecretBox,
        mailer: MailSender,
        chat: ChatPoster,
        base_url: str,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.probes = probes
        self.secrets = secrets
        self.mailer = mailer
        self.chat = chat
        self.base_url = base_url

    # --- The person's own notifications ------------------------------------------

    def mine(
        self, who: Principal, limit: int | None, cursor: str | None, unread_only: bool = False
    ) -> Page[NotificationView]:
        with self.uow.read() as repos:
            page = repos.notifications.newest(
                who.tenant_id, who.user_id, clamp_limit(limit), cursor, unread_only
            )
            items = [NotificationView(n, deliveries_of(repos, n)) for n in page.items]
        return Page(items, page.next)

    def get(self, who: Principal, notification_id: uuid.UUID) -> NotificationView:
        with self.uow.read() as repos:
            found = repos.notifications.get(who.tenant_id, notification_id, user_id=who.user_id)
            if found is None:
                raise self._missing(who, notification_id)
            return NotificationView(found, deliveries_of(repos, found))

    def mark_read(self, who: Principal, notification_id: uuid.UUID) -> NotificationView:
        now = self.clock()

        def mark(repos: Repositories) -> NotificationView | None:
            found = repos.notifications.get(who.tenant_id, notification_id, user_id=who.user_id)
            if found is None:
                return None
            repos.notifications.mark_read(who.tenant_id, who.user_id, now, notification_id)
            shown = found if found.read_at else dataclasses.replace(found, read_at=now)
            return NotificationView(shown, deliveries_of(repos, found))

        with self.uow.write() as repos:
            view = mark(repos)
        if view is None:
            raise self._missing(who, notification_id)
        return view

    def mark_all_read(self, who: Principal) -> int:
        now = self.clock()
        with self.uow.write() as repos:
            return repos.notifications.mark_all_read(who.tenant_id, who.user_id, now)

    def unread_count(self, who: Principal) -> int:
        with self.uow.read() as repos:
            return repos.notifications.unread_count(who.tenant_id, who.user_id)

    def _missing(self, who: Principal, notification_id: uuid.UUID) -> NotFound:
        # Another user's notification of the same tenant is as missing as any; one of
        # another tenant is also recorded where its owner looks (architecture.md).
        return self.probes.missing(
            who, "notification", notification_id, lambda repos: repos.notifications
        )

    # --- Preferences -------------------------------------------------------------

    def preferences(self, who: Principal) -> list[ShownPreference]:
        with self.uow.read() as repos:
            stored = repos.notification_preferences.of_users(who.tenant_id, [who.user_id])
        return self._shown(stored.get(who.user_id, {}))

    def set_preferences(
        self, who: Principal, changes: Sequence[PreferenceChange]
    ) -> list[ShownPreference]:
        now = self.clock()
        with self.uow.write() as repos:
            stored = repos.notification_preferences.of_users(who.tenant_id, [who.user_id])
            mine = stored.get(who.user_id, {})
            saved = [self._checked(change, mine.get(change.channel)) for change in changes]
            repos.notification_preferences.save(who.tenant_id, who.user_id, saved, now)
            mine = {**mine, **{p.channel: p for p in saved}}
        return self._shown(mine)

    def _checked(
        self, change: PreferenceChange, before: ChannelPreference | None
    ) -> ChannelPreference:
        if change.channel is not Channel.CHAT:
            return ChannelPreference(change.channel, change.events)
        target = before.target if before is not None else None
        if change.target is not None:
            url = check_url(change.target, "chat.target") if change.target.strip() else ""
            target = self.secrets.seal(url) if url else None
        if change.events and change.chat_kind is None:
            raise InvalidInput(
                "chat.chat_kind must be slack, teams or discord to send chat messages",
                field="chat.chat_kind",
            )
        if change.events and target is None:
            raise InvalidInput(
                "chat.target must be the chat webhook's URL to send chat messages",
                field="chat.target",
            )
        return ChannelPreference(Channel.CHAT, change.events, change.chat_kind, target)

    def _shown(self, stored: dict[Channel, ChannelPreference]) -> list[ShownPreference]:
        shown = []
        for channel, preference in effective(stored).items():
            target = None
            if preference.target:
                target = self._masked(preference.target)
            shown.append(
                ShownPreference(
                    channel, preference.events, channel in stored, preference.chat_kind, target
                )
            )
        return shown

    def reseal_targets(self) -> int:
        """Seal every user's chat webhook URL with the first configured key (`fleetward
        secrets reseal`, beside the integrations' secrets); how many were rewritten. One
        transaction: a URL no configured key opens stops it with nothing rewritten."""
        with self.uow.write() as repos:
            preferences = repos.notification_preferences
            resealed = reseal_each(
                self.secrets, preferences.sealed_targets(), preferences.set_target
            )
        return resealed

    def _masked(self, sealed: str) -> str:
        try:
            return mask_url(self.secrets.open(sealed))
        except ValueError:  # sealed with a key no longer configured
            return UNREADABLE_TARGET

    # --- Delivery (the JobRunner's handlers) ----------------------------------------

    def _load(self, job: Job) -> tuple[Notification, str, ChannelPreference | None]:
        notification_id = uuid.UUID(str(job.payload["notification_id"]))
        with self.uow.read() as repos:
            notification = repos.notifications.get(job.tenant_id, notification_id)
            if notification is None:
                raise JobFailed("the notification was deleted", permanent=True)
            user = repos.users.get(job.tenant_id, notification.user_id)
            if user is None or user.disabled:
                raise JobFailed("the user was deleted or disabled", permanent=True)
            stored = repos.notification_preferences.of_users(job.tenant_id, [user.id])
        chat = stored.get(user.id, {}).get(Channel.CHAT)
        return notification, user.email, chat

    def _link(self, notification: Notification) -> str:
        return link_for(self.base_url, notification.ref_type, notification.ref_id)

    async def deliver_email(self, job: Job) -> None:
        notification, address, _ = await asyncio.to_thread(self._load, job)
        await self.mailer.send(address, email_for(notification, self._link(notification)))

    async def deliver_chat(self, job: Job) -> None:
        notification, _, chat = await asyncio.to_thread(self._load, job)
        if chat is None or chat.chat_kind is None or not chat.target:
            raise JobFailed("the user has no chat webhook any more", permanent=True)
        try:
            url = self.secrets.open(chat.target)
        except ValueError:
            raise JobFailed(f"chat webhook URL {UNREADABLE_TARGET}", permanent=True) from None
        await self.chat.post(url, chat_body(chat.chat_kind, notification, self._link(notification)))
