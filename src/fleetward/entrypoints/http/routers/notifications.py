"""/api/v1/notifications (the caller's own) and /api/v1/users/me/notification-preferences."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from fleetward.domain.notifications import KINDS, Channel, ChatKind
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import CursorQuery, Limit, page_of
from fleetward.entrypoints.http.schemas import In, Out, Page, Text
from fleetward.services.notification_center import (
    NotificationView,
    PreferenceChange,
    ShownPreference,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
preferences = APIRouter(prefix="/api/v1/users/me", tags=["notifications"])

# The kinds a preference may name (domain/notifications.KINDS).
Kind = Literal["alert.matched", "ticket.retriggered", "alert.flapping"]


class DeliveryOut(Out):
    channel: str
    status: str
    attempts: int
    last_error: str | None
    last_status_code: int | None
    finished_at: datetime | None


class NotificationOut(Out):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    ref_type: str | None
    ref_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None
    deliveries: list[DeliveryOut]


def _shown(view: NotificationView) -> dict[str, Any]:
    n = view.notification
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "ref_type": n.ref_type,
        "ref_id": n.ref_id,
        "created_at": n.created_at,
        "read_at": n.read_at,
        "deliveries": view.deliveries,
    }


class UnreadCount(Out):
    unread: int


class MarkedRead(Out):
    marked: int


@router.get("", response_model=Page[NotificationOut])
def list_notifications(
    c: ContainerDep,
    who: PrincipalDep,
    unread: Annotated[bool, Query(description="only those not read yet")] = False,
    limit: Limit = None,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """The caller's own notifications, newest first, each with its e-mail and chat
    deliveries (channel, status, attempts, last error)."""
    return page_of(c.notifications.mine(who, limit, cursor, unread), _shown)


@router.get("/unread-count", response_model=UnreadCount)
def unread_count(c: ContainerDep, who: PrincipalDep) -> UnreadCount:
    return UnreadCount(unread=c.notifications.unread_count(who))


@router.post("/read-all", response_model=MarkedRead)
def mark_all_read(c: ContainerDep, who: PrincipalDep) -> MarkedRead:
    return MarkedRead(marked=c.notifications.mark_all_read(who))


@router.get("/{notification_id}", response_model=NotificationOut)
def get_notification(
    notification_id: uuid.UUID, c: ContainerDep, who: PrincipalDep
) -> dict[str, Any]:
    return _shown(c.notifications.get(who, notification_id))


@router.post("/{notification_id}/read", response_model=NotificationOut)
def mark_read(notification_id: uuid.UUID, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    return _shown(c.notifications.mark_read(who, notification_id))


Events = Annotated[list[Kind], Field(max_length=20)]


class ChannelIn(In):
    events: Events


class ChatIn(In):
    events: Events
    chat_kind: ChatKind | None = None
    # The incoming webhook's URL; omitted or null keeps the stored one, "" removes it.
    target: Annotated[Text | None, Field(max_length=2048)] = None


class PreferencesIn(In):
    """Channels left out keep their preference."""

    in_app: ChannelIn | None = None
    email: ChannelIn | None = None
    chat: ChatIn | None = None


class ChannelOut(Out):
    events: list[str]
    customized: bool = Field(description="false: the default, until the user changes it")


class ChatOut(ChannelOut):
    chat_kind: ChatKind | None
    target: str | None = Field(description="the webhook's host only; the URL is a secret")


class PreferencesOut(Out):
    in_app: ChannelOut
    email: ChannelOut
    chat: ChatOut
    kinds: list[str]


def _preferences_out(shown: list[ShownPreference]) -> PreferencesOut:
    by_channel = {p.channel: p for p in shown}

    def channel(which: Channel) -> dict[str, Any]:
        p = by_channel[which]
        return {"events": list(p.events), "customized": p.customized}

    chat = by_channel[Channel.CHAT]
    return PreferencesOut(
        in_app=ChannelOut(**channel(Channel.IN_APP)),
        email=ChannelOut(**channel(Channel.EMAIL)),
        chat=ChatOut(**channel(Channel.CHAT), chat_kind=chat.chat_kind, target=chat.target),
        kinds=list(KINDS),
    )


@preferences.get("/notification-preferences", response_model=PreferencesOut)
def get_preferences(c: ContainerDep, who: PrincipalDep) -> PreferencesOut:
    """Which notification kinds each channel carries for the caller. Until changed: in-app
    and e-mail carry every kind, chat none."""
    return _preferences_out(c.notifications.preferences(who))


@preferences.put("/notification-preferences", response_model=PreferencesOut)
def put_preferences(body: PreferencesIn, c: ContainerDep, who: PrincipalDep) -> PreferencesOut:
    changes = []
    for which, given in ((Channel.IN_APP, body.in_app), (Channel.EMAIL, body.email)):
        if given is not None:
            changes.append(PreferenceChange(which, tuple(dict.fromkeys(given.events))))
    if body.chat is not None:
        chat = body.chat
        changes.append(
            PreferenceChange(
                Channel.CHAT, tuple(dict.fromkeys(chat.events)), chat.chat_kind, chat.target
            )
        )
    return _preferences_out(c.notifications.set_preferences(who, changes))
