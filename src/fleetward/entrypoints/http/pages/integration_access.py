"""The API access part of an integration's page: the provider API's base URL,
polling, and its credentials (NinjaOne's client id and secret, Tactical's key).

Admins change them; everyone else sees which credentials are set. A credential's
value is never put in a page, not even back into the form after a refusal:
the form says which are set, a blank input keeps one, and a box removes it.
The post (pages/integrations.py) saves through IntegrationService.update, as
the API's PATCH does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetward.bootstrap import Container
from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Principal
from fleetward.domain.integrations import (
    API_CREDENTIALS,
    API_PROVIDERS,
    POLL_MINUTES_DEFAULT,
    POLL_MINUTES_RANGE,
    Integration,
)
from fleetward.entrypoints.http.pages.lookups import FieldErrors

CREDENTIAL_LABELS = {
    "client_id": "Client id",
    "client_secret": "Client secret",
    "api_key": "API key",
}


@dataclass(frozen=True)
class AccessForm:
    """What the form posted; credentials typed in are kept only to save them."""

    api_base_url: str = ""
    poll_enabled: bool = False
    poll_interval_minutes: str = str(POLL_MINUTES_DEFAULT)
    typed: dict[str, str] = field(default_factory=dict)  # credential name -> new value
    remove: frozenset[str] = frozenset()

    @staticmethod
    def of(integration: Integration) -> AccessForm:
        settings = integration.settings
        return AccessForm(
            api_base_url=str(settings.get("api_base_url") or ""),
            poll_enabled=bool(settings.get("poll_enabled")),
            poll_interval_minutes=str(settings.get("poll_interval_minutes", POLL_MINUTES_DEFAULT)),
        )

    def shown(self) -> dict[str, Any]:
        """The values the form may show again: never a credential."""
        return {
            "api_base_url": self.api_base_url,
            "poll_enabled": self.poll_enabled,
            "poll_interval_minutes": self.poll_interval_minutes,
            "remove": sorted(self.remove),
        }


def panel(
    c: Container,
    who: Principal,
    integration: Integration,
    form: AccessForm | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """What the page shows of API access; None for an integration with no API."""
    if integration.provider not in API_PROVIDERS:
        return None
    names = sorted(API_CREDENTIALS[integration.provider])
    return {
        "credentials": [(name, CREDENTIAL_LABELS.get(name, name)) for name in names],
        "set": set(c.integrations.credentials_set(who, [integration])[integration.id]),
        "form": (form or AccessForm.of(integration)).shown(),
        "errors": errors or {},
        "minutes": POLL_MINUTES_RANGE,
    }


def require_api(integration: Integration, label: str) -> None:
    """A post for an integration whose provider has no API changes nothing (409)."""
    if integration.provider not in API_PROVIDERS:
        raise Conflict(f"{label} has no API for Fleetward to call, so nothing to set up here")


def next_to_field(exc: InvalidInput, name: str) -> str:
    """The reason as shown beside its input: "must be an http(s) URL", without the
    API's name of the field in front (`settings.api_base_url`, `poll_interval_minutes`)."""
    text = exc.message
    for prefix in (exc.field, name):
        if prefix:
            text = text.removeprefix(f"{prefix}: ").removeprefix(f"{prefix} ")
    return text


def _minutes(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        low, high = POLL_MINUTES_RANGE
        raise InvalidInput(
            f"must be a whole number from {low} to {high}", field="poll_interval_minutes"
        ) from None


def changes(
    integration: Integration, form: AccessForm, errors: FieldErrors
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """The integration's whole new settings and the credential changes (None removes
    one), as IntegrationService.update takes them; what cannot be read goes to `errors`."""
    settings = dict(integration.settings)
    url = form.api_base_url.strip()
    if url:
        settings["api_base_url"] = url
    else:
        settings.pop("api_base_url", None)
    settings["poll_enabled"] = form.poll_enabled
    settings["poll_interval_minutes"] = errors.check(
        "poll_interval_minutes", _minutes, form.poll_interval_minutes
    )
    credentials: dict[str, str | None] = {}
    # Only the inputs the form shows for this provider: anything else posted is ignored.
    allowed = API_CREDENTIALS.get(integration.provider, frozenset())
    for name in sorted(allowed):
        value = form.typed.get(name, "")
        if name in form.remove:
            if value.strip():
                errors.setdefault(name, "type a new value or remove it, not both")
            credentials[name] = None
        elif value.strip():
            credentials[name] = value  # the service checks and trims it
    return settings, credentials
