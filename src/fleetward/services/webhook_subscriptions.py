"""Webhook subscriptions: where a tenant's domain events are POSTed, signed.

Admins manage them (services/resources.ScopedResource: role, tenant, audit).
The signing secret is generated here, shown once (on create and on rotation)
and kept sealed. `dispatch` turns unpublished domain events into one outbox job
per matching subscription, keyed `{event_id}:{subscription_id}` so a second
dispatch of the same event enqueues nothing, and marks the events published in
the same transaction. `deliver` is the job's handler: one signed POST; any
answer but 2xx is a JobFailed the JobRunner retries with backoff for 24 hours,
under the same job id, which is the X-Fleetward-Delivery a receiver sees.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson

from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.domain.jobs import Job, JobFailed, NewJob
from fleetward.domain.outbound import check_url
from fleetward.domain.pagination import Page
from fleetward.domain.tokens import new_secret
from fleetward.domain.webhook_events import (
    DELIVER_KIND,
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    SUBSCRIPTION_REF,
    WebhookSubscription,
    clean_description,
    clean_events,
    signature,
)
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, Repositories, UnitOfWork, WebhookPoster
from fleetward.services.resources import ScopedResource
from fleetward.services.webhooks import SecretBox, reseal_each

GIVE_UP_AFTER = timedelta(hours=24)
DISPATCH_BATCH = 500  # events per dispatch transaction
SECRET_PREFIX = "fws_"  # noqa: S105 (a prefix, not a secret)


def _body(job: Job) -> bytes:
    """The delivered JSON: the event's document, byte for byte the same on every retry."""
    return orjson.dumps(job.payload["event"])


class WebhookSubscriptionService:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        probes: CrossTenantProbes,
        secrets: SecretBox,
        poster: WebhookPoster,
        unix_time: Callable[[], float] = time.time,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.secrets = secrets
        self.poster = poster
        self.unix_time = unix_time
        # Settings, and their URLs and delivery log can say a lot: admins only.
        self.subscriptions = ScopedResource[WebhookSubscription](
            uow,
            clock,
            probes,
            SUBSCRIPTION_REF,
            lambda r: r.webhook_subscriptions,
            Access.ADMIN,
            Access.ADMIN,
        )

    # Managing subscriptions

    def create(
        self,
        principal: Principal,
        url: object,
        events: object,
        description: object = "",
        enabled: bool = True,
    ) -> tuple[WebhookSubscription, str]:
        """The new subscription and its signing secret, which is not shown again."""
        principal.require(Access.ADMIN)
        now = self.clock()
        subscription = WebhookSubscription(
            new_id(),
            principal.tenant_id,
            check_url(url, "url"),
            clean_description(description),
            clean_events(events),
            enabled,
            now,
            now,
        )
        secret = new_secret(SECRET_PREFIX)
        with self.uow.write() as repos:
            repos.webhook_subscriptions.add(subscription, self.secrets.seal(secret))
            self._audit(repos, principal, "create", subscription.id, after=subscription)
        return subscription, secret

    def get(self, principal: Principal, subscription_id: uuid.UUID) -> WebhookSubscription:
        return self.subscriptions.get(principal, subscription_id)

    def page(
        self, principal: Principal, limit: int | None, cursor: str | None
    ) -> Page[WebhookSubscription]:
        return self.subscriptions.page(principal, limit, cursor)

    def update(
        self, principal: Principal, subscription_id: uuid.UUID, changes: dict[str, Any]
    ) -> WebhookSubscription:
        """`changes` holds only what the caller sent (url, events, description, enabled)."""
        clean: dict[str, Any] = {}
        for field, value in changes.items():
            if value is None:
                raise InvalidInput(f"{field} must not be null", field=field)
        if "url" in changes:
            clean["url"] = check_url(changes["url"], "url")
        if "events" in changes:
            clean["events"] = clean_events(changes["events"])
        if "description" in changes:
            clean["description"] = clean_description(changes["description"])
        if "enabled" in changes:
            clean["enabled"] = bool(changes["enabled"])
        return self.subscriptions.update(principal, subscription_id, clean)

    def delete(self, principal: Principal, subscription_id: uuid.UUID) -> None:
        self.subscriptions.delete(principal, subscription_id)

    def rotate_secret(self, principal: Principal, subscription_id: uuid.UUID) -> str:
        """A new secret replaces the old one at once; deliveries still waiting are
        signed with the new one."""
        self.get(principal, subscription_id)
        secret = new_secret(SECRET_PREFIX)
        with self.uow.write() as repos:
            repos.webhook_subscriptions.set_secret(
                principal.tenant_id, subscription_id, self.secrets.seal(secret)
            )
            self._audit(repos, principal, "rotate_secret", subscription_id)
        return secret

    def reseal_secrets(self) -> int:
        """Seal every subscription's secret with the first configured key (the CLI's
        `secrets reseal`); how many were rewritten."""
        with self.uow.write() as repos:
            subscriptions = repos.webhook_subscriptions
            resealed = reseal_each(
                self.secrets, subscriptions.sealed_secrets(), subscriptions.set_secret
            )
        return resealed

    def _audit(
        self,
        repos: Repositories,
        principal: Principal,
        action: str,
        subscription_id: uuid.UUID,
        after: WebhookSubscription | None = None,
    ) -> None:
        record(
            repos,
            self.clock,
            principal.tenant_id,
            actor_of(principal),
            f"{SUBSCRIPTION_REF}.{action}",
            SUBSCRIPTION_REF,
            subscription_id,
            after=None if after is None else self.subscriptions.document(after),
        )

    # The delivery log

    def deliveries(self, principal: Principal, subscription_id: uuid.UUID) -> list[Job]:
        """The newest deliveries to this subscription, with their last attempt."""
        self.get(principal, subscription_id)
        with self.uow.read() as repos:
            return repos.jobs.about(principal.tenant_id, SUBSCRIPTION_REF, subscription_id)

    def replay(
        self, principal: Principal, subscription_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> Job:
        """Send a delivery again soon, under the same delivery id."""
        self.get(principal, subscription_id)
        principal.require(Access.ADMIN)
        with self.uow.write() as repos:
            job = repos.jobs.get(principal.tenant_id, delivery_id)
            if job is None or job.ref_id != subscription_id or job.kind != DELIVER_KIND:
                raise self.subscriptions.probes.missing(
                    principal, "webhook_delivery", delivery_id, lambda r: r.jobs
                )
            repos.jobs.replay(principal.tenant_id, delivery_id, self.clock())
            self._audit(repos, principal, "replay", subscription_id)
            replayed = repos.jobs.get(principal.tenant_id, delivery_id)
        assert replayed is not None
        return replayed

    # Dispatch and delivery

    def dispatch(self) -> int:
        """Publish waiting events in one transaction of its own (tests, the CLI);
        how many events were published."""
        with self.uow.write() as repos:
            return self.dispatch_in(repos, self.clock())

    def dispatch_in(self, repos: Repositories, now: datetime) -> int:
        """Turn up to DISPATCH_BATCH unpublished events into delivery jobs for the
        subscriptions that want them, and mark them published: one transaction, so
        an event is published exactly when its deliveries exist."""
        waiting = repos.events.unpublished(DISPATCH_BATCH)
        if not waiting:
            return 0
        tenants = list({event.tenant_id for event in waiting})
        subscriptions = repos.webhook_subscriptions.enabled_of(tenants)
        for event in waiting:
            for subscription in subscriptions:
                if subscription.tenant_id != event.tenant_id or not subscription.wants(event.type):
                    continue
                repos.jobs.enqueue(
                    NewJob(
                        event.tenant_id,
                        DELIVER_KIND,
                        {"subscription_id": str(subscription.id), "event": event.document()},
                        key=f"{event.id}:{subscription.id}",
                        ref_type=SUBSCRIPTION_REF,
                        ref_id=subscription.id,
                        give_up_after=GIVE_UP_AFTER,
                    ),
                    now,
                )
        repos.events.mark_published([event.id for event in waiting], now)
        return len(waiting)

    async def deliver(self, job: Job) -> None:
        """The `webhook.deliver` handler: one signed POST; 2xx or JobFailed."""
        subscription_id = uuid.UUID(job.payload["subscription_id"])

        def target(repos: Repositories) -> tuple[WebhookSubscription | None, str | None]:
            found = repos.webhook_subscriptions.get(job.tenant_id, subscription_id)
            sealed = repos.webhook_subscriptions.sealed_secret(job.tenant_id, subscription_id)
            return found, sealed

        with self.uow.read() as repos:
            subscription, sealed = target(repos)
        if subscription is None or sealed is None:
            raise JobFailed("the subscription was deleted", permanent=True)
        if not subscription.enabled:
            raise JobFailed("the subscription is disabled", permanent=True)
        body = _body(job)
        event_type = job.payload["event"]["type"]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Fleetward-Webhooks",
            EVENT_HEADER: event_type,
            DELIVERY_HEADER: str(job.id),
            SIGNATURE_HEADER: signature(self.secrets.open(sealed), int(self.unix_time()), body),
        }
        result = await self.poster.post(subscription.url, body, headers)
        if result.status_code is None:
            raise JobFailed(result.error or "no answer", permanent=result.refused)
        if not 200 <= result.status_code < 300:
            raise JobFailed(
                f"the receiver answered {result.status_code}",
                status_code=result.status_code,
                retry_after=result.retry_after,
            )
