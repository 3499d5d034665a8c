"""A fake NinjaOne public API v2 on 127.0.0.1, as NinjaOne documents it.

    with fake_ninjaone() as api:
        api.trigger(sample)              # a webhook activity (tests/fixtures/providers/ninjaone)
        api.fail_next(429, retry_after=1)
        ... Fleetward calls api.url ...
        api.resets                       # [(uid, activity data), ...]

- `POST /ws/oauth/token` (form: grant_type=client_credentials, client_id,
  client_secret, scope): a bearer token valid `expires_in` seconds
  (`api.expires_in`, default 3600); `api.expire_tokens()` ends every token now.
  `api.token_requests` counts the tokens asked for.
- Every other call needs `Authorization: Bearer <token>`, else 401.
- `GET /v2/alerts`: the active alerts (`api.alerts`), a plain JSON list.
- `GET /v2/activities?class&type&status&olderThan&pageSize`: the activity log
  (`api.activities`), newest first, `{"lastActivityId", "activities"}`.
- `GET /v2/devices?after&pageSize`: devices (`api.devices`) by id.
- `POST /v2/alert/{uid}/reset` (body: activity data): the alert leaves the active
  list and the reset is recorded; 204, or 404 for a uid not active.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

from tests.support.fake_api import Answer, FakeApi, Request, serve

CLIENT_ID = "ninja-client-id"
CLIENT_SECRET = "ninja-client-secret"
DEFAULT_PAGE_SIZE = 200


class FakeNinjaOne(FakeApi):
    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = 3600
        self.alerts: list[dict[str, Any]] = []
        self.activities: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []
        self.resets: list[tuple[str, Any]] = []
        self.token_requests = 0
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry

    # What a test sets up

    def trigger(self, activity: dict[str, Any], *, with_device: bool = True) -> dict[str, Any]:
        """A condition triggered as the webhook `activity` says: its activity joins the
        log and its alert (uid = seriesUid) the active list. Returns the alert."""
        activity = copy.deepcopy(activity)
        with self.lock:
            self.activities.append(activity)
            alert = {
                "uid": activity["seriesUid"],
                "deviceId": activity["deviceId"],
                "message": activity.get("message"),
                "createTime": activity["activityTime"],
                "updateTime": activity["activityTime"],
                "sourceType": "CONDITION",
                "sourceConfigUid": activity.get("sourceConfigUid"),
                "sourceName": activity.get("sourceName"),
                "subject": activity.get("subject"),
                "data": activity.get("data"),
            }
            if with_device and isinstance(activity.get("device"), dict):
                alert["device"] = copy.deepcopy(activity["device"])
            self.alerts.append(alert)
            return alert

    def expire_tokens(self) -> None:
        with self.lock:
            self._tokens.clear()

    # The API

    def handle(self, request: Request) -> Answer:
        if request.method == "POST" and request.path == "/ws/oauth/token":
            return self._token(request)
        if not self._authorized(request):
            return Answer(401, {"error": "invalid_token"})
        if request.method == "GET" and request.path == "/v2/alerts":
            return Answer(200, copy.deepcopy(self.alerts))
        if request.method == "GET" and request.path == "/v2/activities":
            return self._activities(request.query)
        if request.method == "GET" and request.path == "/v2/devices":
            return self._devices(request.query)
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and len(parts) == 4 and parts[:2] == ["v2", "alert"]:
            return self._reset(parts[2], request) if parts[3] == "reset" else Answer(404)
        return Answer(404, {"error": "not found"})

    def _token(self, request: Request) -> Answer:
        self.token_requests += 1
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Answer(400, {"error": "unsupported_grant_type"})
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return Answer(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.expires_in
        return Answer(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.expires_in,
                "scope": form.get("scope", ""),
            },
        )

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        until = self._tokens.get(token)
        return until is not None and time.monotonic() < until

    def _activities(self, query: dict[str, str]) -> Answer:
        size = int(query.get("pageSize", DEFAULT_PAGE_SIZE))
        rows = sorted(self.activities, key=lambda a: int(a["id"]), reverse=True)
        if "olderThan" in query:
            rows = [a for a in rows if int(a["id"]) < int(query["olderThan"])]
        if "type" in query:
            rows = [a for a in rows if a.get("activityType") == query["type"]]
        if "status" in query:
            rows = [a for a in rows if a.get("statusCode") == query["status"]]
        page = copy.deepcopy(rows[:size])
        for activity in page:
            activity.pop("device", None)  # the activity log carries deviceId only
        last = page[-1]["id"] if page else None
        return Answer(200, {"lastActivityId": last, "activities": page})

    def _devices(self, query: dict[str, str]) -> Answer:
        size = int(query.get("pageSize", DEFAULT_PAGE_SIZE))
        after = int(query.get("after", 0))
        rows = sorted((d for d in self.devices if int(d["id"]) > after), key=lambda d: d["id"])
        return Answer(200, copy.deepcopy(rows[:size]))

    def _reset(self, uid: str, request: Request) -> Answer:
        for index, alert in enumerate(self.alerts):
            if alert["uid"] == uid:
                del self.alerts[index]
                self.resets.append((uid, request.json()))
                return Answer(204)
        return Answer(404, {"error": "alert not found"})


@contextmanager
def fake_ninjaone(
    client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET
) -> Iterator[FakeNinjaOne]:
    with serve(FakeNinjaOne(client_id, client_secret)) as api:
        yield api
