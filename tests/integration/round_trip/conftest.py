"""Fixtures of the provider round-trip tests: the REAL NinjaOne and Tactical clients,
allowed to reach the fake vendor APIs on 127.0.0.1, their backoff waits recorded
instead of slept, and a clock the tests move to make a retry due."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleetward.adapters.outbound import OutboundHttp
from fleetward.adapters.providers.apis import provider_api
from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.forwarding import parse_networks
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS
from tests.support.clocks import AheadClock
from tests.support.round_trip import Waits
from tests.support.settings import loopback_settings


@pytest.fixture
def clock() -> AheadClock:
    return AheadClock()


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return loopback_settings(database_url, tmp_path)


@pytest.fixture
def container(settings: Settings, clock: AheadClock, waits: Waits) -> Iterator[Container]:
    apis = provider_api(OutboundHttp(parse_networks(settings.outbound_allow_cidrs)), sleep=waits)
    c = build(settings, clock=clock, passwords=FAST_PASSWORDS, provider_apis=apis)
    yield c
    c.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as tc:
        yield tc
