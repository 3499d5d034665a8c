"""One delivery's steps over the fakes: authenticate, parse once, replay from memory, write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from fleetward.domain.alerts import (
    Device,
    EventKind,
    Ignored,
    IngestResult,
    NormalizedEvent,
    Provider,
    Severity,
)
from fleetward.domain.errors import PayloadError, Unauthenticated
from fleetward.domain.integrations import Integration
from fleetward.domain.tenancy import Tenant
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.webhooks import CACHE_SECONDS, BadPayload, WebhookService
from tests.fakes import FakeUnitOfWork, fixed_clock
from tests.support.aio import run_coroutine

NOW = datetime(2026, 7, 4, 12, tzinfo=UTC)
SECRET = "s3cret-token"


class PlainBox:
    """Secrets kept as they are: the fakes store them unsealed."""

    def seal(self, plaintext: str) -> str:
        return plaintext

    def open(self, token: str) -> str:
        return token

    def reseal(self, token: str) -> str:
        return token


class CountingNormalizer:
    """The provider step: `{"id": ...}` is one trigger, anything else a PayloadError."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, integration: Integration, decoded: Any) -> list[NormalizedEvent | Ignored]:
        self.calls += 1
        if not isinstance(decoded, dict) or not isinstance(decoded.get("id"), str):
            raise PayloadError("id must be a string", field="id")
        event = NormalizedEvent(
            Provider.GENERIC,
            EventKind.TRIGGERED,
            decoded["id"],
            "series",
            Device("pc-1"),
            Severity.MINOR,
            "cpu",
            "CPU high",
            "",
            NOW,
        )
        return [event]


class MemoryClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Setup:
    """One API process over the fakes; `other_node()` is a second one on the same data."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()
        tenant = uuid.uuid4()
        self.uow.repos.tenants.add(Tenant(tenant, "MSP", NOW))
        self.integration = Integration(uuid.uuid4(), tenant, Provider.GENERIC, "Uptime", True)
        self.uow.repos.integrations.add(self.integration, SECRET)
        self.normalize = CountingNormalizer()
        self.clock = MemoryClock()
        self.webhooks = self.other_node()

    def other_node(self) -> WebhookService:
        pipeline = AlertPipeline(self.uow, fixed_clock(NOW))
        return WebhookService(
            self.uow, fixed_clock(NOW), pipeline, PlainBox(), self.normalize, self.clock
        )

    def deliver(
        self, body: bytes, secret: str = SECRET, node: WebhookService | None = None
    ) -> IngestResult:
        receiving = node or self.webhooks
        answer = run_coroutine(
            receiving.receive(self.integration.id, body, {"x-fleetward-token": secret})
        )
        return answer.outcome.result

    def dead_letters(self) -> int:
        return len(self.uow.repos.dead_letters.rows)


def test_a_bad_body_from_a_known_sender_is_parsed_once_and_kept_once() -> None:
    setup = Setup()
    setup.deliver(b'{"id": "a"}')  # the integration is in memory from here on
    setup.normalize.calls = 0
    with pytest.raises(BadPayload) as refused:
        setup.deliver(b'{"id": 7}')
    assert refused.value.field == "id"
    assert setup.normalize.calls == 1
    assert setup.dead_letters() == 1


def test_a_stranger_is_refused_before_the_body_is_read() -> None:
    setup = Setup()
    with pytest.raises(Unauthenticated):
        setup.deliver(b'{"id": 7}', secret="guess")
    assert setup.normalize.calls == 0
    assert setup.dead_letters() == 0


def test_a_replay_is_answered_from_memory_without_a_write() -> None:
    setup = Setup()
    first = setup.deliver(b'{"id": "a"}')
    writes = setup.uow.writes
    assert first is not IngestResult.DUPLICATE
    assert setup.deliver(b'{"id": "a"}') is IngestResult.DUPLICATE
    assert setup.uow.writes == writes


def test_a_secret_rotated_on_another_node_stops_working_here_within_5_seconds() -> None:
    setup = Setup()
    here = setup.other_node()
    setup.deliver(b'{"id": "a"}', node=here)  # this node now holds the old secret
    # Rotated through the first node: it forgets at once; this one is not told.
    setup.uow.repos.integrations.set_secret(
        setup.integration.tenant_id, setup.integration.id, "new"
    )
    setup.webhooks.forget(setup.integration.id)
    with pytest.raises(Unauthenticated):
        setup.deliver(b'{"id": "b"}', node=setup.webhooks)
    setup.clock.now += CACHE_SECONDS
    with pytest.raises(Unauthenticated):
        setup.deliver(b'{"id": "b"}', node=here)
    assert setup.deliver(b'{"id": "b"}', secret="new", node=here) is not IngestResult.DUPLICATE
