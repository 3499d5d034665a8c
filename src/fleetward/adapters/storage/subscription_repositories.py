"""Webhook subscriptions, with their sealed signing secrets kept out of the domain object."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, insert, select, update

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.repositories import TenantRows, values_of
from fleetward.domain.webhook_events import WebhookSubscription

_S = schema.webhook_subscription


class WebhookSubscriptionRepository(TenantRows[WebhookSubscription]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, _S, WebhookSubscription, unique_fields=())

    def add(self, subscription: WebhookSubscription, sealed_secret: str) -> WebhookSubscription:
        self.conn.execute(insert(_S).values(**values_of(subscription), secret=sealed_secret))
        return subscription

    def sealed_secret(self, tenant_id: uuid.UUID, subscription_id: uuid.UUID) -> str | None:
        query = select(_S.c.secret).where(_S.c.tenant_id == tenant_id, _S.c.id == subscription_id)
        found: str | None = self.conn.execute(query).scalar_one_or_none()
        return found

    def set_secret(
        self, tenant_id: uuid.UUID, subscription_id: uuid.UUID, sealed_secret: str
    ) -> None:
        self.conn.execute(
            update(_S)
            .where(_S.c.tenant_id == tenant_id, _S.c.id == subscription_id)
            .values(secret=sealed_secret)
        )

    def sealed_secrets(self) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        """Every subscription's sealed secret, across tenants: for re-sealing under a new key."""
        rows = self.conn.execute(select(_S.c.tenant_id, _S.c.id, _S.c.secret))
        return [(row.tenant_id, row.id, row.secret) for row in rows]

    def enabled_of(self, tenant_ids: Sequence[uuid.UUID]) -> list[WebhookSubscription]:
        """The enabled subscriptions of these tenants (the dispatcher's look-up)."""
        if not tenant_ids:
            return []
        return self.all_where(
            _S.c.tenant_id.in_(list(tenant_ids)),
            _S.c.enabled.is_(True),
            order_by=[_S.c.created_at, _S.c.id],
        )
