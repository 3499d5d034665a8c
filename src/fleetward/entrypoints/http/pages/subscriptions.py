"""The webhook subscriptions pages (admins): list and create, the signing secret
shown once, enable or disable, rotate, delete, and a subscription's delivery log
with replay (docs/webhooks.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.domain.webhook_events import ALL_EVENTS, EVENT_TYPES, WebhookSubscription
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.errors import STATUS
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    parse_id,
    redirect,
    render,
)
from fleetward.entrypoints.http.pages.crud import Confirmation
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)

PATH = "/webhook-subscriptions"
TextForm = Annotated[str, Form()]
EventsForm = Annotated[list[str], Form()]
CONFIRM = Confirmation(
    active="subscriptions",
    title="Delete",
    heading="Delete webhook subscription",
    before="Delete the subscription to ",
    after="? Deliveries waiting for it are not sent.",
)


def _list_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, object] | None = None,
) -> Response:
    who = session.principal
    who.require(Access.ADMIN)
    return render(
        request,
        "subscriptions.html",
        session,
        status_code,
        error=error,
        subscriptions=c.subscriptions.page(who, MAX_LIMIT, None).items,
        event_types=EVENT_TYPES,
        form=form or {"url": "", "description": "", "events": [ALL_EVENTS]},
    )


def _secret_page(
    request: Request, session: SessionInfo, subscription: WebhookSubscription, secret: str
) -> Response:
    return render(
        request, "subscription_secret.html", session, subscription=subscription, secret=secret
    )


def _id(subscription_id: str) -> uuid.UUID:
    return parse_id(subscription_id, "webhook subscription")


@router.get(PATH)
def list_subscriptions(request: Request, c: ContainerDep, session: SessionDep) -> Response:
    return _list_page(request, c, session)


@router.post(PATH)
def create_subscription(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    url: TextForm = "",
    description: TextForm = "",
    events: EventsForm = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    form: dict[str, object] = {"url": url, "description": description, "events": events}
    try:
        subscription, secret = c.subscriptions.create(session.principal, url, events, description)
    except InvalidInput as exc:
        return _list_page(request, c, session, STATUS[type(exc)], exc.message, form)
    return _secret_page(request, session, subscription, secret)


@router.get(PATH + "/{subscription_id}")
def show_subscription(
    request: Request, c: ContainerDep, session: SessionDep, subscription_id: str
) -> Response:
    who = session.principal
    subscription = c.subscriptions.get(who, _id(subscription_id))
    return render(
        request,
        "subscription_detail.html",
        session,
        subscription=subscription,
        deliveries=c.subscriptions.deliveries(who, subscription.id),
    )


@router.post(PATH + "/{subscription_id}/enabled")
def set_enabled(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    subscription_id: str,
    enabled: TextForm = "",
) -> Response:
    sid = _id(subscription_id)
    on = enabled == "true"
    c.subscriptions.update(session.principal, sid, {"enabled": on})
    flash = "Subscription enabled." if on else "Subscription disabled: nothing is sent to it."
    return redirect(request, f"{PATH}/{sid}", flash=flash)


@router.post(PATH + "/{subscription_id}/rotate-secret")
def rotate_secret(
    request: Request, c: ContainerDep, session: FormSessionDep, subscription_id: str
) -> Response:
    sid = _id(subscription_id)
    secret = c.subscriptions.rotate_secret(session.principal, sid)
    return _secret_page(request, session, c.subscriptions.get(session.principal, sid), secret)


@router.get(PATH + "/{subscription_id}/delete")
def confirm_delete(
    request: Request, c: ContainerDep, session: SessionDep, subscription_id: str
) -> Response:
    sid = _id(subscription_id)
    subscription = c.subscriptions.get(session.principal, sid)
    return render(
        request,
        "confirm_delete.html",
        session,
        confirm=CONFIRM,
        path=PATH,
        object_id=sid,
        object_name=subscription.url,
    )


@router.post(PATH + "/{subscription_id}/delete")
def delete_subscription(
    request: Request, c: ContainerDep, session: FormSessionDep, subscription_id: str
) -> Response:
    sid = _id(subscription_id)
    found = c.subscriptions.get(session.principal, sid)
    c.subscriptions.delete(session.principal, sid)
    return redirect(request, PATH, flash=f"Subscription to {found.url[:200]} deleted.")


@router.post(PATH + "/{subscription_id}/deliveries/{delivery_id}/replay")
def replay_delivery(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    subscription_id: str,
    delivery_id: str,
) -> Response:
    sid = _id(subscription_id)
    job = c.subscriptions.replay(session.principal, sid, parse_id(delivery_id, "delivery"))
    flash = f"Delivery {job.id} will be sent again shortly, with the same delivery id."
    return redirect(request, f"{PATH}/{sid}#deliveries", flash=flash)
