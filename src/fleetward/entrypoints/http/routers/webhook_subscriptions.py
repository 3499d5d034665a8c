"""/api/v1/webhook-subscriptions: where domain events are POSTed, and the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from fleetward.domain.jobs import Job
from fleetward.domain.webhook_events import EVENT_TYPES, WebhookSubscription
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import StandardRoutes
from fleetward.entrypoints.http.schemas import In, Out, Text

Url = Annotated[Text, Field(max_length=2048)]
EventName = Annotated[Text, Field(max_length=100)]
Events = Annotated[
    list[EventName],
    Field(max_length=20, description=f'Any of {", ".join(EVENT_TYPES)}, or ["*"] for all'),
]
Description = Annotated[Text, Field(max_length=200)]


class SubscriptionIn(In):
    url: Url
    events: Events
    description: Description = ""
    enabled: bool = True


class SubscriptionPatch(In):
    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    enabled: bool | None = None


class SubscriptionOut(Out):
    id: uuid.UUID
    url: str
    description: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="The signing secret: shown this once, stored encrypted")


class SecretOut(Out):
    secret: str


class DeliveryOut(Out):
    id: uuid.UUID = Field(description="The X-Fleetward-Delivery id, the same on every attempt")
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    finished_at: datetime | None


class DeliveriesOut(Out):
    items: list[DeliveryOut]
    next: None = Field(None, description="Always null: the log shows the newest 50")


def delivery_out(job: Job) -> DeliveryOut:
    event = job.payload.get("event", {})
    return DeliveryOut(
        id=job.id,
        event_id=str(event.get("id", "")),
        event_type=str(event.get("type", "")),
        status=job.status.value,
        attempts=job.attempts,
        last_status_code=job.last_status_code,
        last_error=job.last_error,
        created_at=job.created_at,
        next_attempt_at=job.next_attempt_at,
        finished_at=job.finished_at,
    )


router = APIRouter(prefix="/api/v1/webhook-subscriptions", tags=["webhook subscriptions"])

subscriptions = StandardRoutes[()](
    router, "/{subscription_id}", SubscriptionOut, "webhook_subscription"
)
subscriptions.list(lambda c, who, limit, cursor: c.subscriptions.page(who, limit, cursor))


@router.post("", status_code=201, response_model=SubscriptionCreated)
def create_webhook_subscription(
    body: SubscriptionIn, c: ContainerDep, who: PrincipalDep
) -> dict[str, Any]:
    """Returns the signing secret; it is not shown again (rotate it to get a new one)."""
    subscription, secret = c.subscriptions.create(
        who, body.url, body.events, body.description, body.enabled
    )
    return {**_fields(subscription), "secret": secret}


def _fields(subscription: WebhookSubscription) -> dict[str, Any]:
    return SubscriptionOut.model_validate(subscription, from_attributes=True).model_dump()


subscriptions.get(lambda c, who, subscription_id: c.subscriptions.get(who, subscription_id))
subscriptions.patch(
    SubscriptionPatch,
    lambda c, who, subscription_id, body: c.subscriptions.update(
        who, subscription_id, body.model_dump(exclude_unset=True)
    ),
)
subscriptions.delete(lambda c, who, subscription_id: c.subscriptions.delete(who, subscription_id))


@router.post("/{subscription_id}/rotate-secret", response_model=SecretOut)
def rotate_webhook_subscription_secret(
    subscription_id: uuid.UUID, c: ContainerDep, who: PrincipalDep
) -> SecretOut:
    """A new signing secret replaces the old one at once; update the receiver."""
    return SecretOut(secret=c.subscriptions.rotate_secret(who, subscription_id))


@router.get("/{subscription_id}/deliveries", response_model=DeliveriesOut)
def list_webhook_deliveries(
    subscription_id: uuid.UUID, c: ContainerDep, who: PrincipalDep
) -> DeliveriesOut:
    """The newest 50 deliveries, each with its last attempt."""
    jobs = c.subscriptions.deliveries(who, subscription_id)
    return DeliveriesOut(items=[delivery_out(job) for job in jobs])


@router.post("/{subscription_id}/deliveries/{delivery_id}/replay", response_model=DeliveryOut)
def replay_webhook_delivery(
    subscription_id: uuid.UUID, delivery_id: uuid.UUID, c: ContainerDep, who: PrincipalDep
) -> DeliveryOut:
    """Send the delivery again soon, with the same X-Fleetward-Delivery id."""
    return delivery_out(c.subscriptions.replay(who, subscription_id, delivery_id))
