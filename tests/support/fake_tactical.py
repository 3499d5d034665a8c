"""A fake Tactical RMM API on 127.0.0.1, answering as its source does
(api/tacticalrmm/alerts/views.py, urls.py; tacticalrmm/auth.py).

    with fake_tactical() as api:
        api.trigger(sample)              # a web hook body (tests/fixtures/providers/tacticalrmm)
        api.fail_next(500, times=3)
        ... Fleetward calls api.url ...
        api.resolves                     # [alert id, ...]

- Every call needs `X-API-KEY: <api.api_key>`, else 401 `{"detail": "Invalid token."}`.
- `PATCH /alerts/`: `{"top": N}` -> `{"alerts_count", "alerts"}` (unresolved, not
  snoozed, not hidden); a body with any of timeFilter, clientFilter, severityFilter,
  resolvedFilter, snoozedFilter -> the filtered list (a false resolvedFilter or
  snoozedFilter keeps only unresolved or unsnoozed alerts); anything else -> all.
- `PUT /alerts/{id}/` `{"type": "resolve"}` -> "ok", recorded in `api.resolves`;
  404 for an unknown id.
- `POST /alerts/bulk/` `{"bulk_action": "resolve", "alerts": [ids]}` -> "ok".
Tactical pages nothing: the list comes whole.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from tests.support.fake_api import Answer, FakeApi, Request, serve

API_KEY = "TACTICALAPIKEY0123456789ABCDEFGH"
_FILTERS = ("timeFilter", "clientFilter", "severityFilter", "resolvedFilter", "snoozedFilter")


def _none(value: str) -> str | None:
    return None if value == "None" else value


def _drf_time(text: str) -> str:
    # DRF prints an aware UTC datetime as isoformat() with "Z" for "+00:00".
    at = datetime.fromisoformat(text).astimezone(UTC)
    return at.isoformat().replace("+00:00", "Z")


class FakeTactical(FakeApi):
    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.alerts: list[dict[str, Any]] = []
        self.resolves: list[int] = []

    def trigger(self, body: dict[str, str], **overrides: Any) -> dict[str, Any]:
        """The alert a Fleetward trigger web hook `body` was rendered from, as
        AlertSerializer answers it, added to `alerts`. Returns it."""
        check, task = _none(body["check_id"]), _none(body["task_id"])
        alert: dict[str, Any] = {
            "id": int(body["alert_id"]),
            "hostname": body["hostname"],
            "agent_id": body["agent_id"],
            "client": body["client"],
            "site": body["site"],
            "alert_time": _drf_time(body["alert_time"]),
            "alert_type": body["alert_type"],
            "message": body["message"],
            "snoozed": False,
            "snooze_until": None,
            "resolved": False,
            "resolved_on": None,
            "severity": body["severity"],
            "hidden": body["alert_type"] == "availability",
            "email_sent": None,
            "resolved_email_sent": None,
            "sms_sent": None,
            "resolved_sms_sent": None,
            "action_run": None,
            "action_stdout": None,
            "action_stderr": None,
            "action_retcode": None,
            "action_execution_time": None,
            "agent": 17,
            "assigned_check": int(check) if check else None,
            "assigned_task": int(task) if task else None,
        } | overrides
        with self.lock:
            self.alerts.append(alert)
        return alert

    def handle(self, request: Request) -> Answer:
        if request.headers.get("X-API-KEY") != self.api_key:
            return Answer(401, {"detail": "Invalid token."})
        parts = request.path.strip("/").split("/")
        if parts[0] != "alerts":
            return Answer(404, {"detail": "Not found."})
        if request.method == "PATCH" and len(parts) == 1:
            return self._list(request.json() or {})
        if request.method == "PUT" and len(parts) == 2 and parts[1].isdigit():
            return self._update(int(parts[1]), request.json() or {})
        if request.method == "POST" and parts[1:] == ["bulk"]:
            return self._bulk(request.json() or {})
        return Answer(405, {"detail": f'Method "{request.method}" not allowed.'})

    def _list(self, data: dict[str, Any]) -> Answer:
        if "top" in data:
            active = [a for a in self.alerts if not (a["resolved"] or a["snoozed"] or a["hidden"])]
            active.sort(key=lambda a: a["alert_time"])
            return Answer(
                200, {"alerts_count": len(active), "alerts": copy.deepcopy(active[: data["top"]])}
            )
        rows = self.alerts
        if any(key in data for key in _FILTERS):
            if "snoozedFilter" in data and not data["snoozedFilter"]:
                rows = [a for a in rows if not a["snoozed"]]
            if "resolvedFilter" in data and not data["resolvedFilter"]:
                rows = [a for a in rows if not a["resolved"]]
            if "severityFilter" in data:
                rows = [a for a in rows if a["severity"] in data["severityFilter"]]
        return Answer(200, copy.deepcopy(rows))

    def _update(self, alert_id: int, data: dict[str, Any]) -> Answer:
        alert = next((a for a in self.alerts if a["id"] == alert_id), None)
        if alert is None:
            return Answer(404, {"detail": "No Alert matches the given query."})
        if data.get("type") == "resolve":
            alert.update(resolved=True, snoozed=False, snooze_until=None)
            alert["resolved_on"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            self.resolves.append(alert_id)
            return Answer(200, "ok")
        return Answer(400, "There was an error in the request data")

    def _bulk(self, data: dict[str, Any]) -> Answer:
        if data.get("bulk_action") != "resolve":
            return Answer(400, "The request was invalid")
        for alert in self.alerts:
            if alert["id"] in data.get("alerts", []):
                alert.update(resolved=True, snoozed=False, snooze_until=None)
                self.resolves.append(alert["id"])
        return Answer(200, "ok")


@contextmanager
def fake_tactical(api_key: str = API_KEY) -> Iterator[FakeTactical]:
    with serve(FakeTactical(api_key)) as api:
        yield api
