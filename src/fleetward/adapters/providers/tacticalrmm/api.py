"""Tactical RMM's own REST API (docs/providers/tacticalrmm.md, "API access").

Matched to Tactical's source, api/tacticalrmm/alerts/views.py and urls.py:
alerts are listed by `PATCH /alerts/` with a filter body and resolved by
`PUT /alerts/{id}/` with `{"type": "resolve"}`; authentication is an API key in
`X-API-KEY` (tacticalrmm/auth.py). Each polled alert is rendered into the body
Fleetward's web hook template produces and read by the web hook's normaliser,
so a poll and a web hook of one alert are the same occurrence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from fleetward.adapters.providers.api_client import ApiClient
from fleetward.adapters.providers.tacticalrmm.normalize import normalize_alert
from fleetward.domain.alerts import Alert, NormalizedEvent
from fleetward.domain.errors import PayloadError, ProviderApiError

log = structlog.get_logger("fleetward.providers")

# Unresolved alerts, snoozed ones included (snoozed is still active in Tactical).
# A false snoozedFilter would hide them; true adds no filter (views.GetAddAlerts.patch).
ACTIVE_FILTER = {"resolvedFilter": False, "snoozedFilter": True}


class TacticalApi:
    def __init__(self, client: ApiClient, api_key: str) -> None:
        self.client = client
        self._api_key = api_key

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _headers(self) -> Mapping[str, str]:
        return {"X-API-KEY": self._api_key, "Accept": "application/json"}

    async def _alerts(self) -> list[dict[str, Any]]:
        answer = await self.client.json(
            "PATCH", "/alerts/", headers=self._headers, json_body=ACTIVE_FILTER
        )
        if not isinstance(answer, list):
            raise ProviderApiError("tacticalrmm PATCH /alerts/: expected a list of alerts")
        return [a for a in answer if isinstance(a, dict) and not a.get("resolved")]

    async def active_alerts(self) -> list[NormalizedEvent]:
        events = []
        for alert in await self._alerts():
            try:
                events.append(normalize_alert(as_webhook_body(alert)))
            except PayloadError as error:
                log.warning(
                    "provider_alert_unreadable", provider="tacticalrmm", error=error.message
                )
        return events

    async def reset(self, alert: Alert, ticket_reference: str | None) -> None:
        # Tactical's resolve takes no note, so the ticket reference has nowhere to go.
        del ticket_reference
        alert_id = await self._id_of(alert)
        if alert_id is None:
            return  # no unresolved Tactical alert is this one: nothing left to resolve
        try:
            await self.client.request(
                "PUT", f"/alerts/{alert_id}/", headers=self._headers, json_body={"type": "resolve"}
            )
        except ProviderApiError as error:
            if error.status_code != 404:
                raise
            # Deleted in Tactical since: nothing is left to resolve.

    async def acknowledge(self, alert: Alert) -> bool:
        del alert  # Tactical has no acknowledgement (snoozing hides an alert; it is not one)
        return False

    async def _id_of(self, alert: Alert) -> str | None:
        """The Tactical alert id: the series key, or found among the unresolved alerts
        for an alert whose web hook carried none (series "<agent id>:<condition>")."""
        if alert.series_key.isdigit():
            return alert.series_key
        for candidate in await self._alerts():
            try:
                event = normalize_alert(as_webhook_body(candidate))
            except PayloadError:
                continue
            if (
                event.device.external_id == alert.device_external_id
                and event.condition_identity == alert.condition_identity
            ):
                return str(candidate.get("id"))
        return None


def _text(value: Any) -> str:
    # What Tactical's template renders: str() of the value, "None" for a missing one.
    return "None" if value is None else str(value)


def as_webhook_body(alert: Mapping[str, Any]) -> dict[str, str]:
    """An alert from `PATCH /alerts/` (AlertSerializer) as Fleetward's trigger template
    renders it: the serializer's `assigned_check`/`assigned_task` are the ids the
    template reads as `alert.assigned_check.id`/`alert.assigned_task.id`."""
    return {
        "event": "trigger",
        "alert_id": _text(alert.get("id")),
        "alert_time": _text(alert.get("alert_time")),
        "alert_type": _text(alert.get("alert_type")),
        "severity": _text(alert.get("severity")),
        "message": _text(alert.get("message")),
        "check_id": _text(alert.get("assigned_check")),
        "task_id": _text(alert.get("assigned_task")),
        "agent_id": _text(alert.get("agent_id")),
        "hostname": _text(alert.get("hostname")),
        "client": _text(alert.get("client")),
        "site": _text(alert.get("site")),
    }
