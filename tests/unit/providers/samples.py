"""The recorded sample payloads under tests/fixtures/providers, and small helpers."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from fleetward.adapters.providers import ProviderSettings, normalizer_for
from fleetward.domain.alerts import Ignored, NormalizedEvent, Provider

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "providers"
DOCS = ROOT / "docs" / "providers"


def load(provider: Provider, name: str) -> Any:
    """A fresh copy each time, so a test may change it."""
    return json.loads((FIXTURES / provider.value / name).read_text())


def sample_names(provider: Provider) -> list[str]:
    return sorted(p.name for p in (FIXTURES / provider.value).glob("*.json"))


def run(
    provider: Provider, body: Any, settings: ProviderSettings | None = None
) -> list[NormalizedEvent | Ignored]:
    return normalizer_for(provider).normalize(body, settings or ProviderSettings())


def events(
    provider: Provider, body: Any, settings: ProviderSettings | None = None
) -> list[NormalizedEvent]:
    items = run(provider, body, settings)
    assert all(isinstance(item, NormalizedEvent) for item in items), items
    return [item for item in items if isinstance(item, NormalizedEvent)]


def one(provider: Provider, body: Any, settings: ProviderSettings | None = None) -> NormalizedEvent:
    found = events(provider, body, settings)
    assert len(found) == 1
    return found[0]


def without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    """A copy of body with the key at path removed (nested keys as separate args)."""
    changed = copy.deepcopy(body)
    target = changed
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return changed


def replaced(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def json_blocks(doc: str) -> list[str]:
    text = (DOCS / doc).read_text()
    return re.findall(r"```json\n(.*?)```", text, flags=re.S)
