"""NinjaOne public API v2 (docs/providers/ninjaone.md, "API access").

Active alerts are read the way the webhook sees them: `GET /v2/alerts` lists the
active alerts (one per alert uid, which is the activities' `seriesUid`) but has no
severity and no activity id, so each alert is paired with its TRIGGERED activity
from `GET /v2/activities` (paged, newest first) and that activity goes through
the webhook's own normaliser. A poll and a webhook of one alert are therefore the
same occurrence: same external id, series, device, severity and condition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from fleetward.adapters.providers.api_client import ApiClient
from fleetward.adapters.providers.ninjaone.normalize import normalize_activity
from fleetward.domain.alerts import Alert, EventKind, NormalizedEvent
from fleetward.domain.errors import PayloadError, ProviderApiError

log = structlog.get_logger("fleetward.providers")

SCOPE = "monitoring management"
PAGE_SIZE = 1000
# Bounds one reading of the activity log: 200 pages of 1,000 activities.
MAX_PAGES = 200
# A token is renewed this long before NinjaOne says it expires (less for short ones).
TOKEN_MARGIN_S = 60.0
# A trigger activity is written when its alert is created; anything this much
# older than the oldest active alert cannot be one of theirs.
ACTIVITY_SLACK_S = 3600.0


class NinjaOneApi:
    def __init__(
        self,
        client: ApiClient,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.client = client
        self._client_id = client_id
        self._client_secret = client_secret
        self.clock = clock
        self.page_size = page_size
        self._token: str | None = None
        self._token_until = 0.0

    async def aclose(self) -> None:
        await self.client.aclose()

    # OAuth 2 client credentials

    async def _access_token(self) -> str:
        if self._token is not None and self.clock() < self._token_until:
            return self._token
        body = await self._fetch_token()
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token:
            raise ProviderApiError("ninjaone token: the answer has no access_token")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        self._token = token
        self._token_until = self.clock() + lifetime - min(TOKEN_MARGIN_S, lifetime / 10)
        return token

    async def _fetch_token(self) -> dict[str, Any]:
        async def no_headers() -> Mapping[str, str]:
            return {"Accept": "application/json"}

        response = await self.client.request(
            "POST",
            "/ws/oauth/token",
            headers=no_headers,
            form={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "scope": SCOPE,
            },
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderApiError("ninjaone token: the answer is not a JSON object")
        return body

    def _forget_token(self) -> None:
        self._token = None

    async def _headers(self) -> Mapping[str, str]:
        return {
            "Authorization": f"Bearer {await self._access_token()}",
            "Accept": "application/json",
        }

    async def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self.client.json(
            "GET", path, headers=self._headers, params=params, on_unauthorized=self._forget_token
        )

    # ProviderApi

    async def active_alerts(self) -> list[NormalizedEvent]:
        alerts = [a for a in _list(await self._get("/v2/alerts"), "alerts") if _uid(a)]
        if not alerts:
            return []
        triggers = await self._trigger_activities(alerts)
        devices = await self._devices(alerts) if any(_needs_device(a) for a in alerts) else {}
        events = []
        for alert in alerts:
            activity = _as_activity(alert, triggers.get(_uid(alert)), devices)
            try:
                event = normalize_activity(activity)
            except PayloadError as error:
                log.warning("provider_alert_unreadable", provider="ninjaone", error=error.message)
                continue
            if isinstance(event, NormalizedEvent) and event.kind is EventKind.TRIGGERED:
                events.append(event)
        return events

    async def reset(self, alert: Alert, ticket_reference: str | None) -> None:
        uid = await self._uid_of(alert)
        if uid is None:
            return  # no active NinjaOne alert is this one: nothing left to reset
        activity_data: dict[str, str] = {"source": "Fleetward"}
        if ticket_reference:
            activity_data["ticket"] = ticket_reference
        try:
            await self.client.request(
                "POST",
                f"/v2/alert/{uid}/reset",
                headers=self._headers,
                json_body=activity_data,
                on_unauthorized=self._forget_token,
            )
        except ProviderApiError as error:
            if error.status_code != 404:
                raise
            # Reset already (by a technician, or its condition cleared): the goal is met.

    async def acknowledge(self, alert: Alert) -> bool:
        del alert  # API v2 has no acknowledge call: acknowledging is NinjaOne's UI alone
        return False

    # Helpers

    async def _uid_of(self, alert: Alert) -> str | None:
        """The NinjaOne alert uid: the series uid, or found among the active alerts
        for an alert whose webhook carried none (series "<source config>:<device>")."""
        if ":" not in alert.series_key:
            return alert.series_key
        source_config, _, device = alert.series_key.rpartition(":")
        for candidate in _list(await self._get("/v2/alerts"), "alerts"):
            if str(candidate.get("deviceId")) == device and source_config in (
                candidate.get("sourceConfigUid"),
                _code(candidate),
                candidate.get("sourceName"),
            ):
                return _uid(candidate)
        return None

    async def _trigger_activities(self, alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The TRIGGERED condition activity of each alert uid, read back from the newest."""
        wanted = {_uid(a) for a in alerts}
        created = [_seconds(a.get("createTime")) for a in alerts]
        oldest = min((t for t in created if t is not None), default=None)
        found: dict[str, dict[str, Any]] = {}
        params = {
            "class": "DEVICE",
            "type": "CONDITION",
            "status": "TRIGGERED",
            "pageSize": str(self.page_size),
        }
        for _ in range(MAX_PAGES):
            page = await self._get("/v2/activities", params)
            activities = _list(
                page.get("activities") if isinstance(page, dict) else None, "activities"
            )
            if not activities:
                break
            for activity in activities:
                series = activity.get("seriesUid")
                # Newest first: the last TRIGGERED seen for a series is its first.
                if series in wanted and str(activity.get("statusCode", "")).upper() == "TRIGGERED":
                    found[str(series)] = activity
            ids = [a["id"] for a in activities if isinstance(a.get("id"), int)]
            times = [_seconds(a.get("activityTime")) for a in activities]
            if len(found) == len(wanted) or not ids or len(activities) < self.page_size:
                break
            known_times = [t for t in times if t is not None]
            if oldest is not None and known_times and min(known_times) < oldest - ACTIVITY_SLACK_S:
                break
            params = {**params, "olderThan": str(min(ids))}
        return found

    async def _devices(self, alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Devices by id, from `GET /v2/devices` (paged by `after`), for alerts that
        came without their device's organisation."""
        wanted = {str(a.get("deviceId")) for a in alerts if _needs_device(a)}
        devices: dict[str, dict[str, Any]] = {}
        params = {"pageSize": str(self.page_size)}
        for _ in range(MAX_PAGES):
            page = _list(await self._get("/v2/devices", params), "devices")
            for device in page:
                if str(device.get("id")) in wanted:
                    devices[str(device["id"])] = device
            ids = [d["id"] for d in page if isinstance(d.get("id"), int)]
            if len(devices) == len(wanted) or not ids or len(page) < self.page_size:
                break
            params = {**params, "after": str(max(ids))}
        return devices


def _list(value: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ProviderApiError(f"ninjaone: expected a list of {what}")
    return [item for item in value if isinstance(item, dict)]


def _uid(alert: Mapping[str, Any]) -> str:
    uid = alert.get("uid")
    return uid if isinstance(uid, str) else ""


def _code(alert: Mapping[str, Any]) -> Any:
    data = alert.get("data")
    message = data.get("message") if isinstance(data, dict) else None
    return message.get("code") if isinstance(message, dict) else None


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return None


def _needs_device(alert: Mapping[str, Any]) -> bool:
    device = alert.get("device")
    return not isinstance(device, dict) or device.get("organizationId") is None


def _as_activity(
    alert: dict[str, Any],
    trigger: dict[str, Any] | None,
    devices: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    """The activity the webhook would have sent for this alert."""
    if trigger is not None:
        activity = dict(trigger)
    else:
        # Its trigger is no longer in the activity log (NinjaOne keeps it for a
        # limited time): the alert itself, with its uid as the occurrence id.
        activity = {
            "id": alert.get("uid"),
            "activityTime": alert.get("createTime"),
            "deviceId": alert.get("deviceId"),
            "seriesUid": alert.get("uid"),
            "sourceConfigUid": alert.get("sourceConfigUid"),
            "sourceName": alert.get("sourceName"),
            "subject": alert.get("subject"),
            "message": alert.get("message"),
            "activityType": "CONDITION",
            "statusCode": "TRIGGERED",
            "data": alert.get("data"),
        }
    if not isinstance(activity.get("device"), dict):
        device = alert.get("device")
        if _needs_device(alert):
            device = devices.get(str(alert.get("deviceId")), device)
        if isinstance(device, dict):
            activity["device"] = {
                key: device[key]
                for key in ("id", "organizationId", "displayName", "systemName", "nodeClass")
                if key in device
            }
    return activity
