"""Domain events and the webhook subscriptions that receive them (docs/webhooks.md).

Pure values and rules: the event types, which subscription wants which event,
the delivered document, and the signature a receiver checks.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from fleetward.domain.errors import InvalidInput


class EventType(StrEnum):
    ALERT_TRIGGERED = "alert.triggered"
    ALERT_RESOLVED = "alert.resolved"
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_CLOSED = "ticket.closed"


EVENT_TYPES = tuple(t.value for t in EventType)
ALL_EVENTS = "*"  # every type, present and future
DESCRIPTION_MAX = 200
DELIVER_KIND = "webhook.deliver"  # the outbox job kind of one delivery
SUBSCRIPTION_REF = "webhook_subscription"  # what a delivery job is about
SIGNATURE_HEADER = "X-Fleetward-Signature"
EVENT_HEADER = "X-Fleetward-Event"
DELIVERY_HEADER = "X-Fleetward-Delivery"


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """Where a tenant wants its events POSTed. The signing secret is kept apart
    (sealed in storage, shown once), never in this object."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    description: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: str) -> bool:
        return self.enabled and (ALL_EVENTS in self.events or event_type in self.events)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """A stored event (domain_event row): `data` is the type's document."""

    id: int
    tenant_id: uuid.UUID
    type: str
    payload: dict[str, Any]
    created_at: datetime

    def document(self) -> dict[str, Any]:
        """What a subscription is sent: the same for every subscription and retry."""
        return {
            "id": str(self.id),
            "type": self.type,
            "occurred_at": self.created_at.isoformat(),
            "data": self.payload,
        }


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """One POST to a receiver: its status, or why there was none."""

    status_code: int | None
    retry_after: float | None = None
    error: str | None = None  # no answer: the connection failed or was refused
    refused: bool = False  # the outbound policy refused the address: retrying cannot help


def clean_events(value: object, field: str = "events") -> list[str]:
    """A subscription's event list: known types or ["*"], each once, in the given order."""
    if not isinstance(value, list) or not value:
        raise InvalidInput(f'{field} must be a non-empty list of event types or ["*"]', field=field)
    chosen: list[str] = []
    for item in value:
        if not isinstance(item, str) or (item != ALL_EVENTS and item not in EVENT_TYPES):
            raise InvalidInput(
                f'{field} holds {item!r}: use {", ".join(EVENT_TYPES)} or "*"', field=field
            )
        if item not in chosen:
            chosen.append(item)
    if ALL_EVENTS in chosen and len(chosen) > 1:
        raise InvalidInput(f'{field}: "*" already means every type; list it alone', field=field)
    return chosen


def clean_description(value: object, field: str = "description") -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", field=field)
    text = " ".join(value.split())
    if len(text) > DESCRIPTION_MAX:
        raise InvalidInput(f"{field} must be at most {DESCRIPTION_MAX} characters", field=field)
    return text


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Fleetward-Signature value: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
