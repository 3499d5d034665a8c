"""Provider API clients against fake NinjaOne and Tactical APIs on real sockets:
tokens, pages, retries, resets, the outbound policy, and polls that read exactly
like the webhook of the same alert."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from fleetward.adapters.outbound import OutboundHttp
from fleetward.adapters.providers import ProviderSettings
from fleetward.adapters.providers import ninjaone as ninjaone_normalizer
from fleetward.adapters.providers import tacticalrmm as tactical_normalizer
from fleetward.adapters.providers.api_client import ApiClient
from fleetward.adapters.providers.apis import provider_api
from fleetward.adapters.providers.ninjaone.api import NinjaOneApi
from fleetward.domain.alerts import Alert, NormalizedEvent, Provider
from fleetward.domain.errors import ProviderApiError
from fleetward.domain.forwarding import parse_networks
from fleetward.domain.ids import new_id
from fleetward.domain.integrations import Integration
from fleetward.services.ports import ProviderApi
from tests.support.aio import run_coroutine
from tests.support.fake_ninjaone import CLIENT_ID, CLIENT_SECRET, fake_ninjaone
from tests.support.fake_tactical import API_KEY, fake_tactical

FIXTURES = Path(__file__).parent.parent / "fixtures" / "providers"
LOOPBACK = parse_networks("127.0.0.0/8")
NINJA_CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
TACTICAL_CREDENTIALS = {"api_key": API_KEY}
T = TypeVar("T")


def sample(provider: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / provider / name).read_text())
    return body


def webhook_event(provider: Provider, body: dict[str, Any]) -> NormalizedEvent:
    module = ninjaone_normalizer if provider is Provider.NINJAONE else tactical_normalizer
    [event] = module.normalize(body, ProviderSettings())
    assert isinstance(event, NormalizedEvent)
    return event


def integration(provider: Provider, base_url: str | None) -> Integration:
    settings = {"api_base_url": base_url} if base_url else {}
    return Integration(new_id(), new_id(), provider, "rmm", True, settings)


class Sleeps(list[float]):
    """The backoff waits asked for; none is actually waited."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def api_for(
    provider: Provider,
    url: str,
    sleeps: Sleeps,
    credentials: Mapping[str, str] | None = None,
    allowed: Any = LOOPBACK,
) -> ProviderApi:
    if credentials is None:
        credentials = NINJA_CREDENTIALS if provider is Provider.NINJAONE else TACTICAL_CREDENTIALS
    factory = provider_api(OutboundHttp(allowed), sleep=sleeps)
    api = factory(integration(provider, url), credentials)
    assert api is not None
    return api


def call(api: ProviderApi, use: Callable[[ProviderApi], Awaitable[T]]) -> T:
    async def run() -> T:
        try:
            return await use(api)
        finally:
            await api.aclose()

    return run_coroutine(run())


def stored(event: NormalizedEvent) -> Alert:
    """The alert Fleetward keeps for an event (only what reset reads matters)."""
    now = datetime.now(UTC)
    return Alert(
        id=new_id(),
        tenant_id=new_id(),
        integration_id=new_id(),
        provider=event.provider,
        external_alert_id=event.external_alert_id,
        series_key=event.series_key,
        severity=event.severity,
        title=event.title,
        message=event.message,
        condition_identity=event.condition_identity,
        activity_type=event.activity_type,
        alert_class=event.alert_class,
        source_type=event.source_type,
        device_external_id=event.device.external_id,
        device_name=event.device.name,
        external_org_id=event.device.external_org_id,
        asset_id=None,
        occurred_at=event.occurred_at,
        created_at=now,
        updated_at=now,
    )


def ninja_condition(n: int) -> dict[str, Any]:
    """The recorded CPU trigger as it would be for the n-th device."""
    body = sample("ninjaone", "condition_triggered.json")
    body.update(id=930000 + n, seriesUid=f"00000000-0000-4000-8000-{n:012d}", deviceId=5000 + n)
    body["device"] = body["device"] | {"id": 5000 + n, "displayName": f"WS-{n}"}
    return body


# NinjaOne


def test_ninjaone_poll_reads_exactly_like_the_webhook_of_the_same_alert() -> None:
    webhooks = [
        sample("ninjaone", "condition_triggered.json"),
        sample("ninjaone", "condition_triggered_iso_org_top_level.json"),
    ]
    with fake_ninjaone() as ninja:
        for body in webhooks:
            ninja.trigger(body)
        # A reset of some other alert in the log is not an active alert.
        ninja.activities.append(sample("ninjaone", "condition_reset.json") | {"seriesUid": "gone"})
        polled = call(api_for(Provider.NINJAONE, ninja.url, Sleeps()), lambda a: a.active_alerts())
    assert polled == [webhook_event(Provider.NINJAONE, body) for body in webhooks]


def test_ninjaone_alert_without_device_details_takes_them_from_the_paged_device_list() -> None:
    body = sample("ninjaone", "condition_triggered.json")
    with fake_ninjaone() as ninja:
        ninja.trigger(body, with_device=False)
        others = [{"id": 1000 + n, "organizationId": 1, "displayName": f"D{n}"} for n in range(5)]
        ninja.devices = [*others, body["device"]]
        api = NinjaOneApi(
            ApiClient(OutboundHttp(LOOPBACK).client(), ninja.url, "ninjaone"),
            CLIENT_ID,
            CLIENT_SECRET,
            page_size=2,
        )
        polled = call(api, lambda a: a.active_alerts())
        afters = [r.query.get("after") for r in ninja.calls("GET", "/v2/devices")]
    assert polled == [webhook_event(Provider.NINJAONE, body)]
    assert afters == [None, "1001", "1003"]  # three pages of two, by device id


def test_ninjaone_activity_pages_are_followed_until_every_alert_has_its_trigger() -> None:
    conditions = [ninja_condition(n) for n in range(7)]
    with fake_ninjaone() as ninja:
        for body in conditions:
            ninja.trigger(body)
        # Newer noise in the log: resets of other alerts, which the filter drops.
        for n in range(3):
            ninja.activities.append(ninja_condition(100 + n) | {"statusCode": "RESET"})
        api = NinjaOneApi(
            ApiClient(OutboundHttp(LOOPBACK).client(), ninja.url, "ninjaone"),
            CLIENT_ID,
            CLIENT_SECRET,
            page_size=3,
        )
        polled = call(api, lambda a: a.active_alerts())
        pages = ninja.calls("GET", "/v2/activities")
    assert polled == [webhook_event(Provider.NINJAONE, body) for body in conditions]
    assert [p.query.get("olderThan") for p in pages] == [None, "930004", "930001"]
    assert {p.query["status"] for p in pages} == {"TRIGGERED"}


def test_a_trigger_gone_from_the_activity_log_still_polls_with_the_alert_uid() -> None:
    body = sample("ninjaone", "condition_triggered.json")
    with fake_ninjaone() as ninja:
        ninja.trigger(body)
        ninja.activities.clear()
        [event] = call(api_for(Provider.NINJAONE, ninja.url, Sleeps()), lambda a: a.active_alerts())
    webhook = webhook_event(Provider.NINJAONE, body)
    assert event.external_alert_id == event.series_key == webhook.series_key
    assert (event.device, event.condition_identity) == (webhook.device, webhook.condition_identity)


def test_an_expired_token_is_fetched_again_once() -> None:
    with fake_ninjaone() as ninja:
        ninja.trigger(sample("ninjaone", "condition_triggered.json"))

        async def twice(api: ProviderApi) -> tuple[int, int]:
            first = await api.active_alerts()
            ninja.expire_tokens()  # NinjaOne ended it early: the next call hears 401
            second = await api.active_alerts()
            return len(first), len(second)

        assert call(api_for(Provider.NINJAONE, ninja.url, Sleeps()), twice) == (1, 1)
        assert ninja.token_requests == 2
        denied = [r for r in ninja.requests if r.path == "/v2/alerts"]
    assert len(denied) == 3  # first poll, the 401, and its retry with the new token


def test_a_token_is_renewed_before_expires_in_runs_out() -> None:
    now = [1000.0]
    with fake_ninjaone() as ninja:
        ninja.expires_in = 300
        api = NinjaOneApi(
            ApiClient(OutboundHttp(LOOPBACK).client(), ninja.url, "ninjaone"),
            CLIENT_ID,
            CLIENT_SECRET,
            clock=lambda: now[0],
        )

        async def polls(api: ProviderApi) -> None:
            await api.active_alerts()
            now[0] += 200  # still valid: the same token
            await api.active_alerts()
            now[0] += 80  # within the renewal margin of its 300 s
            await api.active_alerts()

        call(api, polls)
        tokens = {r.headers["Authorization"] for r in ninja.calls("GET", "/v2/alerts")}
        form = ninja.calls("POST", "/ws/oauth/token")[0].body.decode()
    assert ninja.token_requests == 2 and len(tokens) == 2
    assert "grant_type=client_credentials" in form and "scope=monitoring+management" in form


def test_wrong_client_secret_is_an_api_error_without_retries() -> None:
    sleeps = Sleeps()
    with fake_ninjaone() as ninja:
        api = api_for(
            Provider.NINJAONE, ninja.url, sleeps, {"client_id": CLIENT_ID, "client_secret": "x"}
        )
        with pytest.raises(ProviderApiError) as failure:
            call(api, lambda a: a.active_alerts())
    assert failure.value.status_code == 401 and sleeps == [] and ninja.token_requests == 1
    assert "x" not in str(failure.value).split(":")[-1].split()  # the secret is not echoed


def test_429_with_retry_after_is_waited_out_then_the_call_succeeds() -> None:
    sleeps = Sleeps()
    with fake_ninjaone() as ninja:
        ninja.trigger(sample("ninjaone", "condition_triggered.json"))
        ninja.fail_next(429, retry_after=3, path="/v2/alerts")
        polled = call(api_for(Provider.NINJAONE, ninja.url, sleeps), lambda a: a.active_alerts())
    assert len(polled) == 1
    assert sleeps == [3.0]


def test_500s_are_retried_with_backoff_then_given_up_after_the_bounded_attempts() -> None:
    sleeps = Sleeps()
    with fake_tactical() as tactical:
        tactical.fail_next(500, times=10)
        with pytest.raises(ProviderApiError) as failure:
            call(api_for(Provider.TACTICALRMM, tactical.url, sleeps), lambda a: a.active_alerts())
        attempts = len(tactical.calls("PATCH", "/alerts/"))
    assert failure.value.status_code == 500
    assert attempts == 4 and sleeps == [0.5, 1.0, 2.0]


def test_a_retry_after_longer_than_the_longest_wait_is_handed_back_not_slept() -> None:
    sleeps = Sleeps()
    with fake_tactical() as tactical:
        tactical.fail_next(503, retry_after=600)
        with pytest.raises(ProviderApiError) as failure:
            call(api_for(Provider.TACTICALRMM, tactical.url, sleeps), lambda a: a.active_alerts())
    assert (failure.value.status_code, failure.value.retry_after, sleeps) == (503, 600.0, [])


def test_connection_failures_are_retried_then_given_up() -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        closed_port = spare.getsockname()[1]
    sleeps = Sleeps()
    api = api_for(Provider.TACTICALRMM, f"http://127.0.0.1:{closed_port}", sleeps)
    with pytest.raises(ProviderApiError, match="ConnectError after 4 attempts"):
        call(api, lambda a: a.active_alerts())
    assert sleeps == [0.5, 1.0, 2.0]


def test_without_loopback_allowed_the_outbound_policy_refuses_the_call() -> None:
    with fake_ninjaone() as ninja:
        api = api_for(Provider.NINJAONE, ninja.url, Sleeps(), allowed=())
        with pytest.raises(ProviderApiError, match="outbound policy"):
            call(api, lambda a: a.active_alerts())
    assert ninja.requests == []


def test_ninjaone_reset_posts_the_ticket_reference_as_activity_data() -> None:
    body = sample("ninjaone", "condition_triggered.json")
    with fake_ninjaone() as ninja:
        ninja.trigger(body)
        alert = stored(webhook_event(Provider.NINJAONE, body))
        api = api_for(Provider.NINJAONE, ninja.url, Sleeps())
        call(api, lambda a: a.reset(alert, "FW-42"))
        assert ninja.resets == [(body["seriesUid"], {"source": "Fleetward", "ticket": "FW-42"})]
        assert ninja.alerts == []
        # Reset again (already gone at NinjaOne): done, not an error.
        call(api_for(Provider.NINJAONE, ninja.url, Sleeps()), lambda a: a.reset(alert, "FW-42"))
    assert len(ninja.resets) == 1


def test_ninjaone_reset_of_an_alert_without_series_uid_finds_its_uid() -> None:
    body = sample("ninjaone", "condition_triggered_no_series.json")
    with fake_ninjaone() as ninja:
        ninja.trigger(body | {"seriesUid": "5e1f0000-0000-4000-8000-000000000001"})
        alert = stored(webhook_event(Provider.NINJAONE, body))
        call(api_for(Provider.NINJAONE, ninja.url, Sleeps()), lambda a: a.reset(alert, None))
    assert ninja.resets == [("5e1f0000-0000-4000-8000-000000000001", {"source": "Fleetward"})]


def test_neither_provider_acknowledges_through_its_api() -> None:
    event = webhook_event(Provider.NINJAONE, sample("ninjaone", "condition_triggered.json"))
    with fake_ninjaone() as ninja, fake_tactical() as tactical:
        for provider, url in ((Provider.NINJAONE, ninja.url), (Provider.TACTICALRMM, tactical.url)):
            assert (
                call(api_for(provider, url, Sleeps()), lambda a: a.acknowledge(stored(event)))
                is False
            )
    assert ninja.requests == [] and tactical.requests == []


# Tactical RMM


def _same_but_unpolled(event: NormalizedEvent) -> NormalizedEvent:
    # Tactical's alert list has no monitoring type or check type: those stay empty.
    return dataclasses.replace(event, source_type="", alert_class="")


def test_tactical_poll_reads_like_the_webhook_and_skips_resolved_alerts() -> None:
    webhooks = [
        sample("tacticalrmm", "alert_trigger.json"),
        sample("tacticalrmm", "availability_trigger.json"),
    ]
    with fake_tactical() as tactical:
        for body in webhooks:
            tactical.trigger(body)
        tactical.trigger(webhooks[0] | {"alert_id": "4700"}, resolved=True)
        tactical.trigger(webhooks[0] | {"alert_id": "4818"}, snoozed=True)
        polled = call(
            api_for(Provider.TACTICALRMM, tactical.url, Sleeps()), lambda a: a.active_alerts()
        )
        [listing] = tactical.calls("PATCH", "/alerts/")
    expected = [webhook_event(Provider.TACTICALRMM, body) for body in webhooks]
    snoozed = webhook_event(Provider.TACTICALRMM, webhooks[0] | {"alert_id": "4818"})
    assert polled == [_same_but_unpolled(e) for e in [expected[0], expected[1], snoozed]]
    assert listing.json() == {"resolvedFilter": False, "snoozedFilter": True}
    assert listing.headers["X-API-KEY"] == API_KEY


def test_tactical_reset_resolves_the_alert_by_its_id() -> None:
    body = sample("tacticalrmm", "alert_trigger.json")
    with fake_tactical() as tactical:
        tactical.trigger(body)
        alert = stored(webhook_event(Provider.TACTICALRMM, body))
        call(
            api_for(Provider.TACTICALRMM, tactical.url, Sleeps()), lambda a: a.reset(alert, "FW-7")
        )
        [put] = tactical.calls("PUT", "/alerts/")
    assert (put.path, put.json()) == ("/alerts/4817/", {"type": "resolve"})
    assert tactical.resolves == [4817]


def test_tactical_reset_without_alert_id_finds_it_by_agent_and_condition() -> None:
    body = sample("tacticalrmm", "alert_trigger.json")
    with fake_tactical() as tactical:
        tactical.trigger(body)
        alert = stored(webhook_event(Provider.TACTICALRMM, body | {"alert_id": "None"}))
        call(api_for(Provider.TACTICALRMM, tactical.url, Sleeps()), lambda a: a.reset(alert, None))
    assert tactical.resolves == [4817]


def test_a_wrong_tactical_api_key_is_an_error_without_retries() -> None:
    sleeps = Sleeps()
    with fake_tactical() as tactical:
        api = api_for(Provider.TACTICALRMM, tactical.url, sleeps, {"api_key": "wrong"})
        with pytest.raises(ProviderApiError) as failure:
            call(api, lambda a: a.active_alerts())
    assert failure.value.status_code == 401 and sleeps == []


# The factory


@pytest.mark.parametrize(
    ("provider", "base_url", "credentials"),
    [
        (Provider.GENERIC, "https://rmm.example", {"api_key": "k"}),
        (Provider.ALERTMANAGER, "https://rmm.example", {"api_key": "k"}),
        (Provider.AGENT, "https://rmm.example", {"api_key": "k"}),
        (Provider.NINJAONE, None, NINJA_CREDENTIALS),
        (Provider.NINJAONE, "https://rmm.example", {"client_id": "only"}),
        (Provider.TACTICALRMM, "https://rmm.example", {}),
    ],
)
def test_no_api_for_providers_without_one_or_integrations_missing_settings(
    provider: Provider, base_url: str | None, credentials: dict[str, str]
) -> None:
    factory = provider_api(OutboundHttp(LOOPBACK))
    assert factory(integration(provider, base_url), credentials) is None
