"""The registry, the settings, the shared time parser, and the no-surprises property."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetward.adapters.providers import ProviderSettings, normalizer_for
from fleetward.adapters.providers._fields import parse_time
from fleetward.domain.alerts import WEBHOOK_PROVIDERS, Ignored, NormalizedEvent, Provider
from fleetward.domain.errors import FleetwardError, InvalidInput, PayloadError
from tests.unit.providers.samples import load, run, sample_names


@pytest.mark.parametrize("provider", sorted(WEBHOOK_PROVIDERS))
def test_every_provider_has_a_normalizer_and_samples(provider: Provider) -> None:
    names = sample_names(provider)
    assert names, f"no samples for {provider}"
    for name in names:
        items = normalizer_for(provider).normalize(load(provider, name), ProviderSettings())
        assert items and all(isinstance(i, NormalizedEvent | Ignored) for i in items)


def test_the_agent_provider_takes_no_webhook_body() -> None:
    # Its alerts come from agents' matches; a body "for" it is refused, never a 500.
    with pytest.raises(PayloadError) as caught:
        normalizer_for(Provider.AGENT).normalize({"anything": 1}, ProviderSettings())
    assert caught.value.field == "provider"


def test_every_sample_is_described_in_its_readme() -> None:
    from tests.unit.providers.samples import FIXTURES

    for provider in sorted(WEBHOOK_PROVIDERS):
        readme = (FIXTURES / provider.value / "README.md").read_text()
        for name in sample_names(provider):
            assert f"{name}:" in readme, f"{provider.value}/{name} is not in README.md"


def test_payload_error_is_a_400_naming_its_field() -> None:
    error = PayloadError("missing field 'statusCode'", "statusCode")
    assert isinstance(error, FleetwardError)  # the HTTP layer answers it with 400
    assert (error.message, error.field, error.code) == (
        "missing field 'statusCode'",
        "statusCode",
        "bad_request",
    )


def test_settings_defaults_and_mapping() -> None:
    assert ProviderSettings().client_label == "client"
    assert ProviderSettings.from_mapping({}).client_label == "client"
    custom = ProviderSettings.from_mapping({"client_label": "customer", "poll_minutes": 15})
    assert custom == ProviderSettings(client_label="customer")
    for bad in (" ", 5):
        with pytest.raises(InvalidInput) as caught:
            ProviderSettings.from_mapping({"client_label": bad})
        assert caught.value.field == "settings.client_label"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T09:30:12.123456789Z", datetime(2024, 5, 1, 9, 30, 12, 123456, tzinfo=UTC)),
        ("2024-05-01 09:30:12+00:00", datetime(2024, 5, 1, 9, 30, 12, tzinfo=UTC)),
        ("2024-05-01T23:30:12-10:00", datetime(2024, 5, 2, 9, 30, 12, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_time_converts_to_utc(value: str, expected: datetime) -> None:
    parsed = parse_time(value, "t", epoch=False, naive_is_utc=False)
    assert parsed == expected
    assert parsed.tzinfo is UTC
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, 10**30, "1" * 400, "9999-12-31T23:59:59-01:00", "٢٠٢٤", ""],
)
def test_parse_time_refuses_what_is_not_an_instant(value: Any) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_time(value, "t", epoch=True, naive_is_utc=True)
    assert caught.value.field == "t"


# Any JSON value: what a sender's body can decode to (NaN and infinities
# included: Python's json module accepts them).
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        ["None", "CONDITION", "firing", "resolved", "trigger", "2024-05-01T09:30:12Z"]
    ),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _check(provider: Provider, body: Any, client_label: str = "client") -> None:
    try:
        items = run(provider, body, ProviderSettings(client_label=client_label))
    except PayloadError as error:
        assert error.field
        return
    assert isinstance(items, list)
    for item in items:
        assert isinstance(item, NormalizedEvent | Ignored)
        if isinstance(item, NormalizedEvent):
            assert item.occurred_at.utcoffset() == timedelta(0)
            assert item.external_alert_id and item.series_key and item.device.external_id


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(provider=st.sampled_from(list(Provider)), body=JSON)
def test_any_json_value_gives_a_list_or_a_payload_error(provider: Provider, body: Any) -> None:
    _check(provider, body)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), provider=st.sampled_from(sorted(WEBHOOK_PROVIDERS)))
def test_any_sample_with_any_part_replaced_gives_a_list_or_a_payload_error(
    data: st.DataObject, provider: Provider
) -> None:
    # Random JSON rarely gets past the first checks; breaking one part of a
    # valid sample reaches every field's reader.
    name = data.draw(st.sampled_from(sample_names(provider)))
    body = load(provider, name)
    path = data.draw(st.sampled_from(_paths(body)))
    replacement = data.draw(JSON)
    if not path:
        body = replacement
    else:
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = copy.deepcopy(replacement)
    _check(provider, body, client_label=data.draw(st.sampled_from(["client", "customer"])))
