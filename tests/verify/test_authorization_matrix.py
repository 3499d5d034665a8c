"""The authorisation matrix: every route of the real app, as every kind of caller.

EXPECTED holds, for each route the app serves (the REST API, the dashboard's
pages, the agents' WebSocket, the public odds and ends), what each caller must
get: the owning tenant's admin, operator and readonly user, another tenant's
admin, an enrolled agent (its key as Bearer), and nobody. A route the app
serves without a row, or a row the app does not serve, fails the first test
by name, so a new route cannot land without saying who may call it.

The second test then calls every route as every caller, on real objects of the
owning tenant, with bodies valid for the route (the hand tables of
tests/integration/test_isolation_matrix*.py say how to make them for the API;
PAGES below for the dashboard), and compares what came back:

    ok     2xx, or a redirect that does not lead to the login page
    own    ok, acting on the caller's own tenant: the owner's object is not in it
    login  a redirect to the login page (the dashboard's "who are you?")
    401, 403, 404, 422   that status

People call the API with their API keys and the dashboard with a session
(their CSRF token in every form); the agent and nobody send what they have.
The finer checks (snapshots, audit entries, error shapes) stay in the hand
tables; this one sees that nothing is missing and nothing answers more than it
should. The ledger line counts the calls, the leaks (another tenant's call
answered with the owner's data, or an ok where a refusal was due) and the 500s.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, WebSocketRoute
from starlette.testclient import WebSocketDenialResponse

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.entrypoints.http.deps import SESSION_COOKIE
from fleetward.entrypoints.http.pages.auth import LOGIN_CSRF_COOKIE
from tests.conftest import FAST_PASSWORDS, PASSWORD, Actor, TenantFixture
from tests.integration import test_isolation_matrix as people
from tests.integration import test_isolation_matrix_agents as fleet
from tests.integration import test_isolation_matrix_notifications as notes
from tests.integration import test_isolation_matrix_pipeline as pipeline
from tests.integration.test_pages import csrf_of
from tests.support.agents import enrolled_agent, event, make_site, make_token
from tests.support.api import unique
from tests.support.channel import WS_PATH
from tests.support.fake_provider_api import QuietProviders
from tests.support.matrix import Route, Target, World, send
from tests.support.pipeline import sample
from tests.verify.authorization_table import EXPECTED, Key
from tests.verify.ledger import Ledger


def served_routes(client: TestClient) -> set[Key]:
    """Every (method, path) the app answers, its dashboard's included routers too."""
    app: FastAPI = client.app
    served: set[Key] = set()
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if isinstance(original, Mount):
            served.add(("GET", f"{original.path}/{{path}}"))
        elif isinstance(original, WebSocketRoute) or route.methods is None:
            assert route.path is not None
            served.add(("WS", route.path))
        else:
            assert route.path is not None
            served |= {(method, route.path) for method in route.methods - {"HEAD"}}
    return served


# --- How each route is called ---------------------------------------------------------

Factory = Callable[[World, Actor], Target]
Body = Callable[[Target], dict[str, Any]]


def nothing(world: World, actor: Actor) -> Target:
    return Target({}, "", "", lambda: None)


def with_params(factory: Factory, **extra: str) -> Factory:
    def make(world: World, actor: Actor) -> Target:
        target = factory(world, actor)
        return Target({**target.params, **extra}, target.id, target.guard_id, target.snapshot)

    return make


@dataclass(frozen=True)
class PageCall:
    make: Factory = nothing
    form: Body | None = None  # without the CSRF token, which each caller adds


def _refs(target: Target) -> dict[str, Any]:
    return target.refs()


RULE_FORM = {"name": "Disks", "active": "on", "create_ticket": "on"}
WINDOW_FORM = {
    "name": "Patch night",
    "kind": "once",
    "starts_at": "2026-01-01T00:00",
    "ends_at": "2026-01-02T00:00",
}
WATCH_FORM = {"name": "Disk errors", "scope_type": "tenant", "log_name": "System"}
TOKEN_FORM = {"name": "Rollout", "expires_in_hours": "168"}


def site_token_target(world: World, actor: Actor) -> Target:
    """An enrolment token of a site of the owner's client, reached through both."""
    site = people.site_target(world, actor)
    token_id = make_token(world.client, world.owner, site.id)["id"]
    return Target({**site.params, "token_id": token_id}, token_id, site.guard_id, site.snapshot)


PAGES: dict[Key, PageCall] = {
    ("GET", "/"): PageCall(),
    ("GET", "/login"): PageCall(),
    ("POST", "/login"): PageCall(),  # sent by send_login
    ("POST", "/logout"): PageCall(form=lambda _: {}),
    ("GET", "/clients"): PageCall(people.client_target),
    ("GET", "/search"): PageCall(people.client_target),
    ("GET", "/profile"): PageCall(people.me_target),
    ("POST", "/profile"): PageCall(
        people.me_target, lambda _: {"time_zone": "Asia/Tokyo", "display_name": ""}
    ),
    ("POST", "/clients"): PageCall(people.client_target, lambda _: people.new_client()),
    ("GET", "/clients/{client_id}"): PageCall(people.client_target),
    ("POST", "/clients/{client_id}/name"): PageCall(
        people.client_target, lambda _: {"name": unique("Renamed")}
    ),
    ("POST", "/clients/{client_id}/sites"): PageCall(
        people.client_target, lambda _: {"name": unique("Site"), "address": ""}
    ),
    ("POST", "/clients/{client_id}/sites/{site_id}/name"): PageCall(
        people.site_target, lambda _: {"name": unique("Renamed site")}
    ),
    ("GET", "/clients/{client_id}/sites/{site_id}/delete"): PageCall(people.site_target),
    ("POST", "/clients/{client_id}/sites/{site_id}/delete"): PageCall(
        people.site_target, lambda _: {}
    ),
    ("POST", "/clients/{client_id}/sites/{site_id}/tokens"): PageCall(
        people.site_target, lambda _: TOKEN_FORM
    ),
    ("POST", "/clients/{client_id}/sites/{site_id}/tokens/{token_id}/revoke"): PageCall(
        site_token_target, lambda _: {}
    ),
    ("GET", "/clients/{client_id}/edit"): PageCall(people.client_target),
    ("POST", "/clients/{client_id}/edit"): PageCall(
        people.client_target, lambda _: {"name": unique("Renamed"), "notes": ""}
    ),
    ("GET", "/clients/{client_id}/delete"): PageCall(people.client_target),
    ("POST", "/clients/{client_id}/delete"): PageCall(people.client_target, lambda _: {}),
    ("GET", "/users"): PageCall(people.user_target),
    ("POST", "/users"): PageCall(
        people.user_target,
        lambda _: {
            "email": f"{uuid.uuid4().hex[:8]}@new.test",
            "role": "readonly",
            "password": PASSWORD,
        },
    ),
    ("POST", "/users/{user_id}"): PageCall(people.user_target, lambda _: {"role": "admin"}),
    ("GET", "/alerts"): PageCall(pipeline.alert_target),
    ("GET", "/alerts/{alert_id}"): PageCall(pipeline.alert_target),
    ("POST", "/alerts/bulk"): PageCall(
        pipeline.alert_target,
        lambda _: {"action": "acknowledge", "alert_ids": [str(uuid.uuid4())]},
    ),
    ("POST", "/alerts/{alert_id}/acknowledge"): PageCall(pipeline.alert_target, lambda _: {}),
    ("POST", "/alerts/{alert_id}/resolve"): PageCall(pipeline.alert_target, lambda _: {}),
    ("POST", "/alerts/{alert_id}/ticket"): PageCall(pipeline.client_alert_target, lambda _: {}),
    ("GET", "/triage"): PageCall(pipeline.alert_target),
    ("POST", "/triage/map"): PageCall(
        pipeline.mapping_target,
        lambda t: {
            "integration_id": t.params["integration_id"],
            "external_org_id": uuid.uuid4().hex[:8],
            "client_id": _refs(t)["client_id"],
        },
    ),
    ("GET", "/assets/{asset_id}"): PageCall(pipeline.asset_history_target),
    ("GET", "/tickets"): PageCall(pipeline.ticket_target),
    ("GET", "/tickets/{ticket_id}"): PageCall(pipeline.ticket_target),
    ("POST", "/tickets/{ticket_id}/comments"): PageCall(
        pipeline.ticket_target, lambda _: {"body": "Looking into it"}
    ),
    ("POST", "/tickets/{ticket_id}/time-entries"): PageCall(
        pipeline.ticket_target, lambda _: {"minutes": "15"}
    ),
    ("POST", "/tickets/{ticket_id}/status"): PageCall(
        pipeline.ticket_target, lambda _: {"status_id": ""}
    ),
    ("POST", "/tickets/{ticket_id}/assign"): PageCall(
        pipeline.ticket_target, lambda _: {"me": "1"}
    ),
    ("POST", "/tickets/{ticket_id}/edit"): PageCall(
        pipeline.ticket_target, lambda _: {"title": unique("Renamed"), "description": ""}
    ),
    ("GET", "/rules"): PageCall(pipeline.rule_target),
    ("GET", "/rules/new"): PageCall(pipeline.rule_target),
    ("POST", "/rules/new"): PageCall(pipeline.rule_target, lambda _: RULE_FORM),
    ("GET", "/rules/{rule_id}/edit"): PageCall(pipeline.rule_target),
    ("POST", "/rules/{rule_id}/edit"): PageCall(pipeline.rule_target, lambda _: RULE_FORM),
    ("POST", "/rules/check/{field}"): PageCall(
        with_params(pipeline.rule_target, field="message_pattern"),
        lambda _: {"message_pattern": "disk.*full"},
    ),
    ("POST", "/rules/{rule_id}/move"): PageCall(
        pipeline.rule_target, lambda _: {"direction": "up"}
    ),
    ("GET", "/rules/{rule_id}/delete"): PageCall(pipeline.rule_target),
    ("POST", "/rules/{rule_id}/delete"): PageCall(pipeline.rule_target, lambda _: {}),
    ("GET", "/settings"): PageCall(pipeline.settings_target),
    ("POST", "/settings"): PageCall(
        pipeline.settings_target,
        lambda _: {
            "reopen_window_minutes": "60",
            "flap_threshold": "5",
            "flap_window_minutes": "45",
        },
    ),
    ("POST", "/rules/test"): PageCall(
        pipeline.trial_target,
        lambda t: {
            "integration_id": _refs(t)["integration_id"],
            "payload": json.dumps(sample("generic", "trigger")),
        },
    ),
    ("GET", "/maintenance"): PageCall(pipeline.window_target),
    ("POST", "/maintenance"): PageCall(pipeline.window_target, lambda _: WINDOW_FORM),
    ("GET", "/maintenance/{window_id}/edit"): PageCall(pipeline.window_target),
    ("POST", "/maintenance/{window_id}/edit"): PageCall(
        pipeline.window_target, lambda _: WINDOW_FORM
    ),
    ("GET", "/maintenance/{window_id}/delete"): PageCall(pipeline.window_target),
    ("POST", "/maintenance/{window_id}/delete"): PageCall(pipeline.window_target, lambda _: {}),
    ("POST", "/maintenance/{window_id}/end-now"): PageCall(pipeline.window_target, lambda _: {}),
    ("POST", "/maintenance/{window_id}/extend"): PageCall(
        pipeline.window_target, lambda _: {"by": "30"}
    ),
    ("GET", "/integrations"): PageCall(pipeline.integration_target),
    ("POST", "/integrations"): PageCall(
        pipeline.integration_target, lambda _: {"provider": "generic", "name": "New one"}
    ),
    ("GET", "/integrations/{integration_id}"): PageCall(pipeline.integration_target),
    ("POST", "/integrations/{integration_id}/rotate-secret"): PageCall(
        pipeline.integration_target, lambda _: {}
    ),
    ("POST", "/integrations/{integration_id}/mappings"): PageCall(
        pipeline.mapping_target,
        lambda t: {"external_org_id": uuid.uuid4().hex[:8], "client_id": _refs(t)["client_id"]},
    ),
    ("POST", "/integrations/{integration_id}/mappings/{mapping_id}/delete"): PageCall(
        pipeline.mapping_target, lambda _: {}
    ),
    ("POST", "/integrations/{integration_id}/assets/{asset_id}"): PageCall(
        pipeline.asset_target, lambda t: {"client_id": _refs(t)["client_id"]}
    ),
    ("POST", "/integrations/{integration_id}/dead-letters/{letter_id}/replay"): PageCall(
        pipeline.letter_target, lambda _: {}
    ),
    ("POST", "/integrations/{integration_id}/enabled"): PageCall(
        pipeline.integration_target, lambda _: {"enabled": "false"}
    ),
    ("GET", "/integrations/{integration_id}/edit"): PageCall(pipeline.integration_target),
    ("POST", "/integrations/{integration_id}/edit"): PageCall(
        pipeline.integration_target, lambda _: {"name": unique("Renamed")}
    ),
    ("GET", "/integrations/{integration_id}/delete"): PageCall(pipeline.integration_target),
    ("POST", "/integrations/{integration_id}/delete"): PageCall(
        pipeline.integration_target, lambda _: {}
    ),
    ("GET", "/webhook-subscriptions"): PageCall(pipeline.subscription_target),
    ("POST", "/webhook-subscriptions"): PageCall(
        pipeline.subscription_target,
        lambda _: {"url": "https://hooks.example.com/new", "events": "*"},
    ),
    ("GET", "/webhook-subscriptions/{subscription_id}"): PageCall(pipeline.subscription_target),
    ("POST", "/webhook-subscriptions/{subscription_id}/enabled"): PageCall(
        pipeline.subscription_target, lambda _: {"enabled": "false"}
    ),
    ("POST", "/webhook-subscriptions/{subscription_id}/rotate-secret"): PageCall(
        pipeline.subscription_target, lambda _: {}
    ),
    ("GET", "/webhook-subscriptions/{subscription_id}/delete"): PageCall(
        pipeline.subscription_target
    ),
    ("POST", "/webhook-subscriptions/{subscription_id}/delete"): PageCall(
        pipeline.subscription_target, lambda _: {}
    ),
    ("POST", "/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/replay"): PageCall(
        pipeline.delivery_target, lambda _: {}
    ),
    ("POST", "/integrations/{integration_id}/sync"): PageCall(pipeline.sync_target, lambda _: {}),
    ("POST", "/integrations/{integration_id}/api-access"): PageCall(
        pipeline.sync_target,
        lambda _: {"api_base_url": "https://eu.ninjarmm.com", "poll_interval_minutes": "15"},
    ),
    ("GET", "/agents"): PageCall(fleet.agent_target),
    ("POST", "/agents/tokens"): PageCall(
        fleet.token_target, lambda t: {"site_id": _refs(t)["site_id"], "name": "Rollout"}
    ),
    ("POST", "/agents/tokens/{token_id}/revoke"): PageCall(fleet.token_target, lambda _: {}),
    ("GET", "/agents/{agent_id}"): PageCall(fleet.agent_target),
    ("GET", "/agents/{agent_id}/revoke"): PageCall(fleet.agent_target),
    ("POST", "/agents/{agent_id}/revoke"): PageCall(fleet.agent_target, lambda _: {}),
    ("GET", "/agents/{agent_id}/events"): PageCall(fleet.agent_target),
    ("POST", "/agents/{agent_id}/events"): PageCall(fleet.agent_target, lambda _: {}),
    ("GET", "/agents/{agent_id}/timeline"): PageCall(fleet.agent_target),
    ("GET", "/timeline"): PageCall(fleet.timeline_target),
    ("GET", "/watches"): PageCall(fleet.watch_target),
    ("POST", "/watches"): PageCall(fleet.watch_target, lambda _: WATCH_FORM),
    ("GET", "/watches/{watch_id}/edit"): PageCall(fleet.watch_target),
    ("POST", "/watches/{watch_id}/edit"): PageCall(fleet.watch_target, lambda _: WATCH_FORM),
    ("GET", "/watches/{watch_id}/delete"): PageCall(fleet.watch_target),
    ("POST", "/watches/{watch_id}/delete"): PageCall(fleet.watch_target, lambda _: {}),
    ("GET", "/notifications"): PageCall(notes.notification_target),
    ("POST", "/notifications/read-all"): PageCall(notes.notification_target, lambda _: {}),
    ("POST", "/notifications/{notification_id}/read"): PageCall(
        notes.notification_target, lambda _: {}
    ),
    ("GET", "/notifications/preferences"): PageCall(notes.notification_target),
    ("POST", "/notifications/preferences"): PageCall(
        notes.notification_target, lambda _: {"in_app": "alert.matched"}
    ),
}

# The API's routes, as the hand tables of the isolation matrix call them.
API: dict[Key, Route] = {
    (route.method, route.path): route
    for route in (*people.ROUTES, *pipeline.ROUTES, *fleet.ROUTES, *notes.ROUTES)
}
# Public routes and the ones that take something other than a person's key.
PUBLIC = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/static/{path}"),
}
OTHERS = {
    ("POST", "/api/v1/webhooks/{integration_id}"),
    ("POST", "/api/v1/agent/enroll"),
    ("POST", "/api/v1/agent/events"),
    ("POST", "/api/v1/agent/matches"),
    ("WS", "/api/v1/agent/ws"),
}


@dataclass(frozen=True)
class Caller:
    name: str
    actor: Actor  # whose objects a successful call gets made for it
    key: str | None = None  # a person's API key, or the agent's key
    session: str | None = None  # a person's dashboard session
    csrf: str = ""


def start_session(client: TestClient, email: str) -> tuple[str, str]:
    """A dashboard session logged in through the login form: (cookie, CSRF token)."""
    client.cookies.clear()
    form = client.get("/login")
    data = {"email": email, "password": PASSWORD, "csrf_token": csrf_of(form)}
    answer = client.post("/login", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    session = client.cookies[SESSION_COOKIE]
    csrf = csrf_of(client.get("/clients"))
    client.cookies.clear()
    return session, csrf


def callers(world: World) -> dict[str, Caller]:
    owner, other = world.owner, world.other
    agent = enrolled_agent(world.client, owner, "MATRIX-AGENT")
    people_: dict[str, Caller] = {}
    for name, actor in (
        ("admin", owner.admin),
        ("operator", owner.operator),
        ("readonly", owner.readonly),
        ("other", other.admin),
    ):
        session, csrf = start_session(world.client, actor.email)
        people_[name] = Caller(name, actor, actor.key, session, csrf)
    return {
        **people_,
        "agent": Caller("agent", owner.admin, agent.key),
        "anonymous": Caller("anonymous", owner.admin),
    }


def bearer(caller: Caller) -> dict[str, str]:
    return {"Authorization": f"Bearer {caller.key}"} if caller.key else {}


def cookies(**values: str | None) -> dict[str, str]:
    pairs = "; ".join(f"{name}={value}" for name, value in values.items() if value)
    return {"Cookie": pairs} if pairs else {}


def outcome(response: httpx.Response) -> str:
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        return "login" if location.split("?")[0] == "/login" else "ok"
    return "ok" if 200 <= status < 300 else str(status)


def call_page(world: World, key: Key, caller: Caller, target: Target) -> httpx.Response:
    method, path = key
    client = world.client
    if key == ("POST", "/login"):
        return send_login(client, caller, world.owner.admin.email)
    session, csrf = caller.session, caller.csrf
    if key == ("POST", "/logout") and session is not None:
        # A session of its own: logging out must not end the one the other calls use.
        session, csrf = start_session(client, caller.actor.email)
    # People use the dashboard with their session; the agent's key means nothing here.
    headers = cookies(**{SESSION_COOKIE: session}) if caller.session else bearer(caller)
    form = PAGES[key].form
    data = None if form is None else {**form(target), "csrf_token": csrf}
    answer: httpx.Response = client.request(
        method, path.format(**target.params), headers=headers, data=data, follow_redirects=False
    )
    if key == ("POST", "/logout") and session is not None and outcome(answer) == "login":
        # Logged out: the page says so by sending to the login page, and the session is dead.
        dead = client.get(
            "/clients", headers=cookies(**{SESSION_COOKIE: session}), follow_redirects=False
        )
        if outcome(dead) == "login":
            return httpx.Response(204, request=answer.request)
    return answer


def send_login(client: TestClient, caller: Caller, email: str) -> httpx.Response:
    """The login form posted with its double-submit token, from the caller's browser."""
    # A person is logged in already, with a session of its own: logging in again ends
    # that one, which must not be the one the other calls use.
    session = None if caller.session is None else start_session(client, caller.actor.email)[0]
    form = client.get("/login")
    login_csrf = client.cookies[LOGIN_CSRF_COOKIE]
    client.cookies.clear()
    headers = {
        **bearer(caller if session is None else Caller(caller.name, caller.actor)),
        **cookies(**{LOGIN_CSRF_COOKIE: login_csrf, SESSION_COOKIE: session}),
    }
    data = {"email": email, "password": PASSWORD, "csrf_token": csrf_of(form)}
    answer: httpx.Response = client.post(
        "/login", data=data, headers=headers, follow_redirects=False
    )
    return answer


def enrolment_target(world: World, actor: Actor) -> Target:
    """A fresh enrolment token of the owner's: the body carries it, it is the credential."""
    token = make_token(world.client, world.owner, make_site(world.client, world.owner))
    return Target({}, "", "", lambda: None, lambda: {"token": token["token"]})


_events = iter(range(10**6))


def call_other(world: World, key: Key, caller: Caller, target: Target) -> httpx.Response:
    client, headers = world.client, bearer(caller)
    method, path = key
    body: Any
    if path.startswith("/api/v1/webhooks/"):
        body = sample("generic", "trigger")
    elif path.endswith("/enroll"):
        hostname = f"WS-{uuid.uuid4().hex[:8]}"
        os_name, version = "Windows 11", "0.1.0"
        body = {**target.refs(), "hostname": hostname, "os": os_name, "agent_version": version}
    elif path.endswith("/events"):
        body = {"events": [event(next(_events))]}
    else:
        body = {"matches": []}
    answer: httpx.Response = client.request(
        method, path.format(**target.params), json=body, headers=headers
    )
    return answer


def call_websocket(world: World, caller: Caller) -> str:
    """ok when the channel opens and the server welcomes the hello; else the refusal's status."""
    try:
        with world.client.websocket_connect(WS_PATH, headers=bearer(caller)) as socket:
            socket.send_json({"type": "hello", "config_version": 1, "agent_version": "0.1.0"})
            frame = socket.receive_json()
            return "ok" if frame.get("type") == "welcome" else f"frame {frame.get('type')}"
    except WebSocketDenialResponse as refused:
        return str(refused.status_code)


def factory_of(key: Key) -> Factory:
    if key in API:
        return API[key].make
    if key in PAGES:
        return PAGES[key].make
    if key == ("POST", "/api/v1/agent/enroll"):
        return enrolment_target
    if key == ("POST", "/api/v1/webhooks/{integration_id}"):
        return pipeline.integration_target
    return nothing


def call(world: World, key: Key, caller: Caller, target: Target) -> tuple[str, str]:
    """What the caller got: its outcome and the body, to look for the owner's data in."""
    if key[0] == "WS":
        return call_websocket(world, caller), ""
    world.client.cookies.clear()
    if key in API:
        answer = send(world, API[key], target, bearer(caller))
    elif key in PAGES:
        answer = call_page(world, key, caller, target)
    elif key in OTHERS:
        answer = call_other(world, key, caller, target)
    else:
        path = "/static/app.css" if key == ("GET", "/static/{path}") else key[1]
        answer = world.client.get(path, headers=bearer(caller), follow_redirects=False)
    world.client.cookies.clear()
    return outcome(answer), answer.text


# --- The tests ------------------------------------------------------------------------

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_every_route_the_app_serves_has_a_row_and_every_row_a_route(client: TestClient) -> None:
    served = served_routes(client)
    unlisted = sorted(served - set(EXPECTED))
    assert not unlisted, f"routes with no row in EXPECTED_TABLE: {unlisted}"
    stale = sorted(set(EXPECTED) - served)
    assert not stale, f"rows in EXPECTED_TABLE the app does not serve: {stale}"
    # And the matrix knows how to call each of them.
    uncallable = sorted(set(EXPECTED) - set(API) - set(PAGES) - PUBLIC - OTHERS)
    assert not uncallable, f"routes with no way to call them here: {uncallable}"


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    """Every NinjaOne integration has a provider API (reporting nothing), so syncs run."""
    c = build(settings, passwords=FAST_PASSWORDS, provider_apis=QuietProviders())
    yield c
    c.close()


@pytest.fixture
def world(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> Iterator[World]:
    yield World(client, container, tenant, other_tenant)
    # Before the client's own teardown, which waits for every open connection to end.
    while fleet.OPEN_CHANNELS:
        fleet.OPEN_CHANNELS.pop().__exit__(None, None, None)


def test_every_route_answers_every_caller_as_the_table_says(world: World, ledger: Ledger) -> None:
    everyone = callers(world)
    calls = leaks = server_errors = 0
    wrong: list[str] = []
    for key, row in EXPECTED.items():
        make = factory_of(key)
        # Reads and refusals change nothing, so they share one target; each successful
        # write gets its own.
        shared = make(world, world.owner.admin)
        for name, expected in row.items():
            caller = everyone[name]
            changes = expected == "ok" and key[0] not in ("GET", "WS")
            target = make(world, caller.actor) if changes else shared
            got, body = call(world, key, caller, target)
            calls += 1
            server_errors += got.startswith("5")
            shows_owners = bool(shared.id) and shared.id in body and name == "other"
            if got == "ok" and (expected not in ("ok", "own") or shows_owners):
                leaks += 1
                got = "ok, showing the owner's object" if shows_owners else got
            if got != expected and not (expected == "own" and got == "ok"):
                wrong.append(f"{key[0]} {key[1]} as {name}: expected {expected}, got {got}")
    ledger.line("authorisation matrix").add(load=calls, leaks=leaks, server_errors=server_errors)
    assert not wrong, "\n".join(wrong)
