"""Webhook intake: authenticate the sender, parse, normalise, hand to the pipeline.

A body Fleetward cannot accept is answered 400 and kept as a dead letter, so
nothing a sender delivered is lost; it can be replayed once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from fleetward.domain.alerts import Ignored, NormalizedEvent, Provider
from fleetward.domain.errors import FleetwardError, PayloadError, Unauthenticated
from fleetward.domain.ids import new_id
from fleetward.domain.integrations import DeadLetter, Integration
from fleetward.domain.text import clean_text
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.ingest_alerts import Outcome, summary
from fleetward.services.memory import Memory
from fleetward.services.ports import Clock, UnitOfWork
from fleetward.services.sent_json import loads_sent

TOKEN_HEADER = "x-fleetward-token"  # noqa: S105 (a header name, not a secret)
SIGNATURE_HEADER = "x-fleetward-signature"
# How long a secret rotated on another API node may still be accepted here.
CACHE_SECONDS = 5.0
CACHE_SIZE = 10_000


class BadPayload(FleetwardError):
    """The body cannot be read as an alert (answered 400, kept as a dead letter)."""

    code = "bad_payload"


class IntegrationDisabled(FleetwardError):
    code = "integration_disabled"


class SecretBox(Protocol):
    def seal(self, plaintext: str) -> str: ...
    def open(self, token: str) -> str: ...
    def reseal(self, token: str) -> str: ...


def reseal_each(
    secrets: SecretBox,
    sealed: list[tuple[uuid.UUID, uuid.UUID, str]],
    save: Callable[[uuid.UUID, uuid.UUID, str], None],
) -> int:
    """Seal every stored (tenant, owner, token) again with the first configured key, in the
    caller's transaction (`fleetward secrets reseal`); how many were rewritten. A token no
    configured key opens raises before the transaction commits: nothing is rewritten."""
    for tenant_id, owner_id, token in sealed:
        save(tenant_id, owner_id, secrets.reseal(token))
    return len(sealed)


# The provider step: a decoded body to events; PayloadError when it cannot be read.
Normalize = Callable[[Integration, Any], list[NormalizedEvent | Ignored]]


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    outcome: Outcome
    outcomes: list[Outcome]


def signature_of(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def authenticated(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Token header, Bearer, or an HMAC of the raw body; all compared in constant time."""
    given = headers.get(TOKEN_HEADER)
    if given is None:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value:
            given = value.strip()
    if given is not None:
        return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))
    signature = headers.get(SIGNATURE_HEADER)
    if signature is not None:
        return hmac.compare_digest(signature.strip().encode(), signature_of(secret, body).encode())
    return False


class WebhookService:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        pipeline: AlertPipeline,
        secrets: SecretBox,
        normalize: Normalize,
        memory_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.pipeline = pipeline
        self.secrets = secrets
        self.normalize = normalize
        # Senders post in bursts. Changes made through this process are seen at
        # once (forget()); another API node's within CACHE_SECONDS.
        self._integrations: Memory[uuid.UUID, tuple[Integration, str]] = Memory(
            CACHE_SIZE, CACHE_SECONDS, memory_clock
        )

    async def receive(
        self, integration_id: uuid.UUID, body: bytes, headers: Mapping[str, str]
    ) -> WebhookAnswer:
        """One delivery, on the event loop: authenticate, parse once, answer a
        replay from memory, or write.

        Every step that needs the database runs off the loop: the integration
        when not in memory and a dead letter on a worker thread, the write
        awaited from the writer (no thread held).
        """
        found = self._integrations.get(integration_id)
        if found is None:
            found = await asyncio.to_thread(self._load, integration_id)
        integration = self._admitted(found, body, headers)
        try:
            items = self._items(integration, body)
        except BadPayload as error:
            raise await asyncio.to_thread(self._reject, integration, body, error, True) from None
        outcomes = self.pipeline.known_in_memory(integration.id, items)
        if outcomes is None:
            outcomes = await self.pipeline.ingest_async(integration, items)
        return WebhookAnswer(summary(outcomes), outcomes)

    @staticmethod
    def _admitted(
        found: tuple[Integration, str] | None, body: bytes, headers: Mapping[str, str]
    ) -> Integration:
        """The integration, if the sender proved it holds its secret and it is enabled."""
        # Unknown integration and wrong secret answer alike: no probing for ids.
        if found is None or not authenticated(found[1], body, headers):
            raise Unauthenticated("unknown integration or wrong secret")
        if not found[0].enabled:
            raise IntegrationDisabled("this integration is disabled in Fleetward")
        return found[0]

    def _load(self, integration_id: uuid.UUID) -> tuple[Integration, str] | None:
        """The integration and its secret in clear, from the database, then remembered."""
        read_at = self._integrations.now()  # so what was read is trusted 5 s, not longer
        with self.uow.read() as repos:
            found = repos.integrations.for_webhook(integration_id)
        # The built-in agent integration takes no webhooks: as unknown as a random id.
        if found is None or found[0].provider is Provider.AGENT:
            return None
        integration, sealed = found
        loaded = integration, self.secrets.open(sealed)
        self._integrations.put(integration_id, loaded, read_at=read_at)
        return loaded

    def forget(self, integration_id: uuid.UUID) -> None:
        self._integrations.forget(integration_id)

    def process(self, integration: Integration, body: bytes, keep: bool = True) -> WebhookAnswer:
        """A kept body replayed by a person (dead letters), on a worker thread: the
        steps of receive() after authentication, parse once then write (the write
        job finds a duplicate itself).

        `keep` stores a failing body as a dead letter.
        """
        try:
            items = self._items(integration, body)
        except BadPayload as error:
            raise self._reject(integration, body, error, keep) from None
        outcomes = self.pipeline.ingest(integration, items)
        return WebhookAnswer(summary(outcomes), outcomes)

    def _items(self, integration: Integration, body: bytes) -> list[NormalizedEvent | Ignored]:
        """The body parsed and normalised, or BadPayload saying why it cannot be."""
        try:
            decoded = loads_sent(body)
        except orjson.JSONDecodeError as error:
            raise BadPayload(f"body is not valid JSON: {error}") from None
        try:
            return self.normalize(integration, decoded)
        except PayloadError as error:
            raise BadPayload(error.message, field=error.field) from None

    def _reject(
        self, integration: Integration, body: bytes, error: BadPayload, keep: bool
    ) -> BadPayload:
        if not keep:
            return error
        letter = DeadLetter(
            id=new_id(),
            tenant_id=integration.tenant_id,
            integration_id=integration.id,
            # Kept as sent but for what text may not hold (PostgreSQL refuses NUL).
            body=clean_text(body.decode("utf-8", errors="replace")),
            error=error.message[:2000],
            field=error.field,
            created_at=self.clock(),
            replayed_at=None,
            replay_result=None,
        )
        with self.uow.write() as repos:
            repos.dead_letters.insert(letter)
        return error
