"""Bad input on every route gets a 4xx that names what is wrong, never a 5xx."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.pagination import encode_cursor
from fleetward.entrypoints.http.app import create_app
from tests.conftest import PASSWORD, TenantFixture
from tests.support.api import assert_error
from tests.support.live_server import bind_local
from tests.support.live_server import serve as live_server

Case = tuple[str, str, Any, str]  # method, path template, JSON body, the field to be named


@pytest.fixture
def ids(client: TestClient, tenant: TenantFixture) -> dict[str, str]:
    """One real object of each kind, so requests reach real handlers."""
    h = tenant.admin.headers
    client_id = client.post("/api/v1/clients", json={"name": "Contoso"}, headers=h).json()["id"]
    site = client.post(f"/api/v1/clients/{client_id}/sites", json={"name": "HQ"}, headers=h)
    keys = client.get("/api/v1/api-keys", headers=tenant.operator.headers).json()["items"]
    return {
        "client_id": client_id,
        "site_id": site.json()["id"],
        "user_id": str(tenant.readonly.user_id),
        "key_id": keys[0]["id"],
    }


CLIENTS = "/api/v1/clients"
CLIENT = CLIENTS + "/{client_id}"
SITES = CLIENT + "/sites"
SITE = SITES + "/{site_id}"
USERS = "/api/v1/users"
USER = USERS + "/{user_id}"
KEYS = "/api/v1/api-keys"


def new_user(**fields: Any) -> dict[str, Any]:
    return {"email": "new@acme.test", "role": "readonly", "password": PASSWORD, **fields}


WRONG_TYPES: list[Case] = [
    ("POST", CLIENTS, {"name": 123}, "name"),
    ("POST", CLIENTS, {"name": "Contoso 2", "notes": ["a", "list"]}, "notes"),
    ("PATCH", CLIENT, {"name": {"an": "object"}}, "name"),
    ("POST", SITES, {"name": True}, "name"),
    ("PATCH", SITE, {"address": 5}, "address"),
    ("POST", USERS, new_user(password=1234567890123), "password"),
    ("POST", USERS, new_user(role="superuser"), "role"),
    ("PATCH", USER, {"disabled": "maybe"}, "disabled"),
    ("PATCH", USER, {"role": ["admin"]}, "role"),
    ("POST", KEYS, {"name": None}, "name"),
]

MISSING_FIELDS: list[Case] = [
    ("POST", CLIENTS, {}, "name"),
    ("POST", CLIENTS, {"notes": "no name"}, "name"),
    ("POST", SITES, {"address": "1 Main St"}, "name"),
    ("POST", USERS, {"role": "readonly", "password": PASSWORD}, "email"),
    ("POST", USERS, {"email": "new@acme.test", "password": PASSWORD}, "role"),
    ("POST", USERS, {"email": "new@acme.test", "role": "readonly"}, "password"),
    ("POST", KEYS, {}, "name"),
]

# Unknown fields are refused, not ignored: several would be privilege escalation if honoured.
UNKNOWN_FIELDS: list[Case] = [
    ("POST", CLIENTS, {"name": "Contoso 2", "colour": "red"}, "colour"),
    ("POST", CLIENTS, {"name": "Contoso 2", "tenant_id": str(uuid.uuid4())}, "tenant_id"),
    ("PATCH", CLIENT, {"nmae": "typo"}, "nmae"),
    ("POST", SITES, {"name": "Branch", "client_id": str(uuid.uuid4())}, "client_id"),
    ("PATCH", SITE, {"id": str(uuid.uuid4())}, "id"),
    ("POST", USERS, new_user(is_superuser=True), "is_superuser"),
    ("PATCH", USER, {"email": "someone@else.test"}, "email"),
    ("PATCH", USER, {"tenant_id": str(uuid.uuid4())}, "tenant_id"),
    ("POST", KEYS, {"name": "CI", "user_id": str(uuid.uuid4())}, "user_id"),
    ("POST", KEYS, {"name": "CI", "role": "admin"}, "role"),
]

# Too long, with control characters that PostgreSQL text (NUL) and terminals refuse,
# or with a lone surrogate, which no UTF-8 text can hold.
LONG = "x" * 20_000
SURROGATE = "a\ud800b"
BAD_STRINGS: list[Case] = [
    (method, path, body, field)
    for value in (LONG, "nul \x00 inside", "escape \x1b[2J", SURROGATE, "c1 \x85 next line")
    for method, path, body, field in [
        ("POST", CLIENTS, {"name": value}, "name"),
        ("POST", CLIENTS, {"name": "Contoso 2", "notes": value}, "notes"),
        ("PATCH", CLIENT, {"name": value}, "name"),
        ("PATCH", CLIENT, {"notes": value}, "notes"),
        ("POST", SITES, {"name": value}, "name"),
        ("POST", SITES, {"name": "Branch", "address": value}, "address"),
        ("PATCH", SITE, {"name": value}, "name"),
        ("PATCH", SITE, {"address": value}, "address"),
        ("POST", USERS, new_user(email=value), "email"),
        ("POST", USERS, new_user(display_name=value), "display_name"),
        ("PATCH", USER, {"display_name": value}, "display_name"),
        ("POST", KEYS, {"name": value}, "name"),
    ]
] + [
    ("POST", USERS, new_user(password="p" * 1025), "password"),
    ("PATCH", USER, {"password": "p" * 1025}, "password"),
    ("POST", CLIENTS, {"name": "x" * 201}, "name"),
]


def check_refused(
    client: TestClient, headers: dict[str, str], ids: dict[str, str], cases: list[Case]
) -> Iterator[str]:
    """Send each case as the admin; yield a description of each that was not a named 422."""
    for method, template, body, field in cases:
        path = template.format(**ids)
        # ASCII-escaped, as JSON senders write a lone surrogate ("\ud800").
        sent = json.dumps(body).encode()
        response = client.request(
            method, path, content=sent, headers={**headers, "content-type": "application/json"}
        )
        try:
            assert_error(response, 422, "invalid", field)
        except AssertionError as problem:
            yield f"{method} {template} {str(body)[:80]}: {problem}"


def _listing(client: TestClient, tenant: TenantFixture) -> dict[str, Any]:
    h = tenant.admin.headers
    return {
        path: client.get(path, headers=h).json()["items"]
        for path in (CLIENTS, USERS, KEYS, "/api/v1/audit-log")
    }


BAD_BODIES = {
    "wrong types": WRONG_TYPES,
    "missing fields": MISSING_FIELDS,
    "unknown fields": UNKNOWN_FIELDS,
    "long or control characters": BAD_STRINGS,
}


def test_bad_bodies_are_refused_naming_the_field(
    client: TestClient, tenant: TenantFixture, ids: dict[str, str], subtests: pytest.Subtests
) -> None:
    before = _listing(client, tenant)
    for category, cases in BAD_BODIES.items():
        with subtests.test(category):
            assert list(check_refused(client, tenant.admin.headers, ids, cases)) == []
    # Nothing was half-done: no object, no audit entry.
    assert _listing(client, tenant) == before


def test_values_the_services_refuse_are_named_too(
    client: TestClient, tenant: TenantFixture, ids: dict[str, str], subtests: pytest.Subtests
) -> None:
    """Well-typed but unacceptable: blank names, duplicates, taking away your own access."""
    h = tenant.admin.headers
    other = client.post(CLIENTS, json={"name": "Globex"}, headers=h).json()
    me = f"{USERS}/{tenant.admin.user_id}"
    for method, path, body, status, field in [
        ("POST", CLIENTS, {"name": "   "}, 422, "name"),
        ("PATCH", f"{CLIENTS}/{other['id']}", {"name": "\u2003"}, 422, "name"),
        ("PATCH", f"{CLIENTS}/{other['id']}", {"name": " Contoso "}, 409, "name"),
        ("POST", SITES.format(**ids), {"name": "HQ"}, 409, "name"),
        ("POST", USERS, new_user(email="not-an-address"), 422, "email"),
        ("POST", USERS, new_user(email=tenant.operator.email.upper()), 409, "email"),
        ("PATCH", me, {"role": "readonly"}, 409, "role"),
        ("PATCH", me, {"disabled": True}, 409, "disabled"),
        ("POST", KEYS, {"name": "\t"}, 422, "name"),
    ]:
        with subtests.test(f"{method} {path} {body}"):
            response = client.request(method, path, json=body, headers=h)
            error = assert_error(response, status, None, field, field_in_message=False)
            assert error["code"] == ("invalid" if status == 422 else "conflict")
    assert client.get(me, headers=h).json()["role"] == "admin"


NOT_JSON_OBJECTS = {
    "malformed": (b'{"name": "Contoso 2",', "application/json"),
    "array": (b"[1, 2, 3]", "application/json"),
    "string": (b'"just a string"', "application/json"),
    "empty": (b"", "application/json"),
    "form": (b"name=Contoso", "application/x-www-form-urlencoded"),
    "latin-1": (b'{"name": "caf\xe9"}', "application/json"),
    "utf-16 bom": (b"\xff\xfe{}", "application/json"),
}


def test_a_body_that_is_not_a_json_object_is_refused_as_the_body(
    client: TestClient, tenant: TenantFixture, subtests: pytest.Subtests
) -> None:
    for label, (raw, content_type) in NOT_JSON_OBJECTS.items():
        h = {**tenant.admin.headers, "content-type": content_type}
        for path in (CLIENTS, USERS, KEYS):
            with subtests.test(f"{label} to {path}"):
                assert_error(client.post(path, content=raw, headers=h), 422, "invalid", "body")


def test_invalid_ids_in_every_path_are_refused_naming_the_parameter(
    client: TestClient, tenant: TenantFixture, ids: dict[str, str]
) -> None:
    """Every templated API-key route of the OpenAPI schema, each path parameter in turn."""
    paths = client.get("/openapi.json").json()["paths"]
    checked: set[str] = set()
    for template, operations in paths.items():
        params = re.findall(r"{(\w+)}", template)
        methods = [
            m for m, op in operations.items() if {"HTTPBearer": []} in op.get("security", [])
        ]
        for method, param, bad in itertools.product(
            methods, params, ("not-a-uuid", "12345", "' OR 1=1 --", "x" * 300)
        ):
            good = {name: ids.get(name, str(uuid.uuid4())) for name in params}
            path = template.format(**{**good, param: bad})
            # No body: the path is checked first, so the error names the parameter.
            response = client.request(method, path, headers=tenant.admin.headers)
            assert_error(response, 422, "invalid", param)
            checked.add(param)
    assert checked >= set(ids)


def test_an_oversized_body_is_refused_with_413_whether_declared_or_streamed(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    limit = container.settings.max_body_bytes
    h = {**tenant.admin.headers, "content-type": "application/json"}
    body = json.dumps({"name": "Contoso", "notes": "x" * limit}).encode()

    declared = client.post(CLIENTS, content=body, headers=h)
    assert_error(declared, 413, "too_large")
    assert str(limit) in declared.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    streamed = client.post(CLIENTS, content=chunks(), headers=h)
    assert "content-length" not in streamed.request.headers
    assert_error(streamed, 413, "too_large")

    # Nothing was created, and a body under the limit still works.
    assert client.get(CLIENTS, headers=h).json()["items"] == []
    small = json.dumps({"name": "Contoso"}).encode()
    assert client.post(CLIENTS, content=iter([small]), headers=h).status_code == 201


def test_a_big_body_under_the_limit_with_an_overlong_field_is_a_422(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    notes = "ü" * (container.settings.max_body_bytes // 4)
    body = json.dumps({"name": "Contoso", "notes": notes}, ensure_ascii=False).encode()
    assert len(body) < container.settings.max_body_bytes
    h = {**tenant.admin.headers, "content-type": "application/json"}
    assert_error(client.post(CLIENTS, content=body, headers=h), 422, "invalid", "notes")


LIST_PATHS = [CLIENTS, SITES, USERS, KEYS, "/api/v1/audit-log"]


BAD_PAGING: dict[str, dict[str, Any]] = {
    "limit 0": {"limit": 0},
    "limit 501": {"limit": 501},
    "limit -1": {"limit": -1},
    "limit ten": {"limit": "ten"},
    "cursor garbage": {"cursor": "garbage!"},
    "cursor empty list": {"cursor": encode_cursor()},
    "cursor naive time": {"cursor": encode_cursor("2020-01-01T00:00:00", str(uuid.uuid4()))},
    "cursor out of range time": {
        "cursor": encode_cursor("0001-01-01T00:00:00+14:00", str(uuid.uuid4()))
    },
    "cursor huge seq": {"cursor": encode_cursor(2**70)},
    "cursor negative seq": {"cursor": encode_cursor(-5)},
    "cursor too long": {"cursor": "c" * 501},
}


def test_list_endpoints_refuse_bad_paging_naming_the_parameter(
    client: TestClient, tenant: TenantFixture, ids: dict[str, str], subtests: pytest.Subtests
) -> None:
    for label, params in BAD_PAGING.items():
        (field,) = params
        for template in LIST_PATHS:
            with subtests.test(f"{label} on {template}"):
                response = client.get(
                    template.format(**ids), params=params, headers=tenant.admin.headers
                )
                assert_error(response, 422, "invalid", field)


def test_audit_filters_refuse_control_characters_and_overlong_values(
    client: TestClient, tenant: TenantFixture
) -> None:
    for params, field in [
        ({"action": "client.create\x00"}, "action"),
        ({"object_id": "\x00"}, "object_id"),
        ({"action": "a" * 101}, "action"),
        ({"object_id": "1" * 101}, "object_id"),
    ]:
        response = client.get("/api/v1/audit-log", params=params, headers=tenant.admin.headers)
        assert_error(response, 422, "invalid", field)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_never_sees_nul_or_overlong_text(
    client: TestClient, tenant: TenantFixture, ids: dict[str, str]
) -> None:
    """PostgreSQL refuses NUL in text with an error; the API must refuse it first, as a 422."""
    nul_cases = [case for case in BAD_STRINGS if any("\x00" in v for v in case[2].values())]
    long_cases = [case for case in BAD_STRINGS if LONG in case[2].values()]
    surrogate_cases = [case for case in BAD_STRINGS if SURROGATE in case[2].values()]
    assert len(nul_cases) == len(long_cases) == len(surrogate_cases) == 12
    cases = nul_cases + long_cases + surrogate_cases
    assert list(check_refused(client, tenant.admin.headers, ids, cases)) == []
    for query in ({"action": "a\x00b"}, {"object_id": "\x00"}):
        response = client.get("/api/v1/audit-log", params=query, headers=tenant.admin.headers)
        assert_error(response, 422, "invalid", next(iter(query)))
    # The pooled connections are still healthy afterwards.
    made = client.post(CLIENTS, json={"name": "After"}, headers=tenant.admin.headers)
    assert made.status_code == 201


def test_a_small_content_length_does_not_smuggle_a_large_chunked_body(
    container: Container, tenant: TenantFixture
) -> None:
    """Over real HTTP: Content-Length says 10 bytes, Transfer-Encoding streams past the
    limit. The size check must not trust the declared length; nothing is created."""
    limit = container.settings.max_body_bytes
    body = json.dumps({"name": "Contoso", "notes": "x" * limit}).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part)
        for part in (body[i : i + 65536] for i in range(0, len(body), 65536))
    )
    sock = bind_local()
    host, port = sock.getsockname()[:2]
    with live_server(create_app(container), sock) as base:
        with socket.create_connection((host, port), timeout=10) as conn:
            head = (
                f"POST {CLIENTS} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: {tenant.admin.headers['Authorization']}\r\n"
                "Content-Type: application/json\r\nContent-Length: 10\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
            with contextlib.suppress(OSError):  # the server may close mid-send
                conn.sendall(head + chunks + b"0\r\n\r\n")
            status_line = conn.recv(65536).split(b"\r\n", 1)[0]
        status = int(status_line.split()[1])
        assert status in (400, 413), status_line  # refused, whoever refuses it
        with httpx.Client(base_url=base) as http:
            listed = http.get(CLIENTS, headers=tenant.admin.headers)
    assert listed.json()["items"] == []


@pytest.fixture
def integration(client: TestClient, tenant: TenantFixture) -> dict[str, Any]:
    made = client.post(
        "/api/v1/integrations",
        json={"provider": "ninjaone", "name": "Ninja"},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def test_every_kind_of_api_text_refuses_a_lone_surrogate_and_control_characters(
    client: TestClient,
    tenant: TenantFixture,
    ids: dict[str, str],
    integration: dict[str, Any],
    subtests: pytest.Subtests,
) -> None:
    """One text rule for every string: the organisation id of a mapping answered 500 for
    a lone surrogate (and reset the connection), and took NUL, where names refused it."""
    mappings = f"/api/v1/integrations/{integration['id']}/mappings"
    settings = f"/api/v1/integrations/{integration['id']}"
    cases: list[Case] = []
    for value in (SURROGATE, "nul \x00 inside", "escape \x1b[2J", "two\nlines"):
        cases += [
            (
                "POST",
                mappings,
                {"external_org_id": value, "client_id": ids["client_id"]},
                "external_org_id",
            ),
            ("PATCH", settings, {"settings": {"api_base_url": value}}, "settings"),
            ("POST", "/api/v1/boards", {"name": value}, "name"),
            ("POST", "/api/v1/tickets", {"title": value}, "title"),
            (
                "POST",
                "/api/v1/event-log-watches",
                {"name": "W", "scope": {"type": "tenant"}, "log_name": value},
                "log_name",
            ),
            (
                "POST",
                "/api/v1/alert-rules",
                {"name": "R", "conditions": {"keywords": [value]}},
                "conditions.keywords.0",
            ),
        ]
    # Long text keeps tabs and line breaks, and nothing else of the kind.
    for value in (SURROGATE, "nul \x00 inside", "escape \x1b[2J"):
        cases += [
            ("POST", "/api/v1/tickets", {"title": "T", "description": value}, "description"),
            ("POST", CLIENTS, {"name": "Contoso 9", "notes": value}, "notes"),
        ]
    for case in cases:
        with subtests.test(f"{case[0]} {case[1]} {case[3]} {case[2]!r:.60}"):
            assert list(check_refused(client, tenant.admin.headers, ids, [case])) == []
    listed = client.get(mappings, headers=tenant.admin.headers)
    assert listed.status_code == 200 and listed.json()["items"] == []


def test_long_text_keeps_tabs_and_line_breaks_as_line_feeds(
    client: TestClient, tenant: TenantFixture
) -> None:
    """A browser sends a textarea's lines as CRLF: kept as LF, tabs as they are."""
    made = client.post(
        CLIENTS, json={"name": "Contoso 3", "notes": "a\r\nb\rc\n\td"}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    assert made.json()["notes"] == "a\nb\nc\n\td"
