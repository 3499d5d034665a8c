"""The notification centre: the person's own notifications with each copy's delivery,
marking them read, and their preferences per channel (docs/notifications.md)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import InvalidInput
from fleetward.domain.notifications import KINDS, Channel, ChatKind
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    parse_id,
    redirect,
    render,
)
from fleetward.services.identity import SessionInfo
from fleetward.services.notification_center import PreferenceChange

router = APIRouter(route_class=PageRoute)

Kinds = Annotated[list[str], Form()]
TextForm = Annotated[str, Form()]

KIND_LABELS = {
    "alert.matched": "A rule matched an alert",
    "ticket.retriggered": "An open ticket re-triggered",
    "alert.flapping": "A condition is flapping",
}


@router.get("/notifications")
def list_notifications(
    request: Request, c: ContainerDep, session: SessionDep, unread: str = "", cursor: str = ""
) -> Response:
    only_unread = unread == "true"
    page = c.notifications.mine(session.principal, None, cursor or None, only_unread)
    query = {"unread": "true"} if only_unread else {}
    next_url = f"/notifications?{urlencode({**query, 'cursor': page.next})}" if page.next else None
    return render(
        request,
        "notifications.html",
        session,
        active="notifications",
        page=page,
        unread=only_unread,
        cursor=cursor,
        next_url=next_url,
    )


@router.post("/notifications/read-all")
def mark_all_read(request: Request, c: ContainerDep, session: FormSessionDep) -> Response:
    marked = c.notifications.mark_all_read(session.principal)
    return redirect(request, "/notifications", flash=f"{marked} marked read.")


@router.post("/notifications/{notification_id}/read")
def mark_read(
    request: Request, c: ContainerDep, session: FormSessionDep, notification_id: str
) -> Response:
    c.notifications.mark_read(session.principal, parse_id(notification_id, "notification"))
    return redirect(request, "/notifications", flash="Marked read.")


def _preferences_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    shown = {p.channel: p for p in c.notifications.preferences(session.principal)}
    return render(
        request,
        "notification_preferences.html",
        session,
        status_code,
        active="notifications",
        error=error,
        kinds=[(kind, KIND_LABELS.get(kind, kind)) for kind in KINDS],
        channels=[(Channel.IN_APP, "Dashboard"), (Channel.EMAIL, "E-mail"), (Channel.CHAT, "Chat")],
        chosen={channel.value: set(p.events) for channel, p in shown.items()},
        chat=shown[Channel.CHAT],
        chat_kinds=list(ChatKind),
        email=session.principal.email,
    )


@router.get("/notifications/preferences")
def show_preferences(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return _preferences_page(request, c, session)


def _kinds(values: list[str], field: str) -> tuple[str, ...]:
    for value in values:
        if value not in KINDS:
            raise InvalidInput(f"{field}: {value!r} is not a kind of notification", field=field)
    return tuple(dict.fromkeys(values))


@router.post("/notifications/preferences")
def save_preferences(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    in_app: Kinds = [],  # noqa: B006 (FastAPI copies form defaults)
    email: Kinds = [],  # noqa: B006
    chat: Kinds = [],  # noqa: B006
    chat_kind: TextForm = "",
    target: TextForm = "",
    remove_target: TextForm = "",
) -> Response:
    try:
        if chat_kind and chat_kind not in {k.value for k in ChatKind}:
            raise InvalidInput("chat_kind must be slack, teams or discord", field="chat.chat_kind")
        new_target = "" if remove_target else (target.strip() or None)
        changes = [
            PreferenceChange(Channel.IN_APP, _kinds(in_app, "in_app")),
            PreferenceChange(Channel.EMAIL, _kinds(email, "email")),
            PreferenceChange(
                Channel.CHAT,
                _kinds(chat, "chat"),
                ChatKind(chat_kind) if chat_kind else None,
                new_target,
            ),
        ]
        c.notifications.set_preferences(session.principal, changes)
    except InvalidInput as exc:
        return _preferences_page(request, c, session, 422, exc.message)
    return redirect(request, "/notifications/preferences", flash="Preferences saved.")
