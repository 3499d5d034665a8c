"""A secret scan: no known secret in any log line, error body or audit entry.

A real `fleetward serve`, logging at DEBUG as JSON with everything it writes
captured, is used the way people and machines use it, rightly and wrongly:
logins with the right and wrong passwords, users made and given new
passwords (also too short ones), API keys made, used and guessed, a webhook
integration whose secret is sent as a token, a bearer and an HMAC (and
wrong), then rotated, RMM API credentials set, changed and refused,
enrolment tokens traded for agents and agent keys used (and guessed), and
bodies that are not what they should be. Every secret that went by (the
right ones and the wrong guesses, which are often a typo of a right one) must
then be absent from the server's output, from every error body it answered
and from the whole audit log, as sent and URL-encoded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import orjson

from tests.support.agent_live import PASSWORD, LiveServer
from tests.verify.ledger import Ledger
from tests.verify.support import ADMIN_EMAIL, Traffic, fleetward_server, logged_in


@dataclass
class Scan:
    """The secrets that went by and every error body the server answered."""

    server: LiveServer
    secrets: set[str] = field(default_factory=set)
    error_bodies: list[str] = field(default_factory=list)
    requests: int = 0
    bad_inputs: int = 0
    server_errors: int = 0

    def secret(self, value: str) -> str:
        self.secrets.add(value)
        return value

    def answer(self, answer: httpx.Response, expected: int | None = None) -> httpx.Response:
        """Keep an error answer's body; `expected` an error status means a bad input."""
        self.requests += 1
        if answer.status_code >= 400:
            self.error_bodies.append(answer.text)
        if answer.status_code >= 500:
            self.server_errors += 1
        if expected is not None:
            assert answer.status_code == expected, (expected, answer.status_code, answer.text)
            self.bad_inputs += expected >= 400
        return answer

    def api(self, method: str, path: str, expected: int | None = None, **kw: Any) -> Any:
        return self.answer(self.server.api(method, path, **kw), expected)

    def post(self, path: str, expected: int, **kw: Any) -> httpx.Response:
        return self.answer(httpx.post(self.server.url + path, timeout=60, **kw), expected)


def wrong(secret: str) -> str:
    """A near miss: the secret with its last character changed."""
    return secret[:-1] + ("x" if secret[-1] != "x" else "y")


def logins(scan: Scan) -> None:
    """Logins right and wrong, and the dashboard's user form with passwords it
    refuses (too short, for an e-mail address already taken) and one it takes."""
    browser = logged_in(scan.server)
    try:
        scan.secret(browser.cookies["fw_session"])
        users_page = scan.answer(browser.get("/users"), 200).text
        found = re.search(r'name="csrf_token" value="([^"]+)"', users_page)
        assert found, "no CSRF field on the users page"
        form = {"csrf_token": found.group(1), "role": "readonly", "email": "page@verify.test"}
        for password, expected in (
            (f"sh{secrets.token_hex(2)}", 422),
            (f"page-{secrets.token_urlsafe(12)}", 303),
            (f"again-{secrets.token_urlsafe(12)}", 409),
        ):
            sent = {**form, "password": scan.secret(password)}
            scan.answer(browser.post("/users", data=sent), expected)
    finally:
        browser.close()
    for email, password in (
        (ADMIN_EMAIL, wrong(PASSWORD)),
        (ADMIN_EMAIL, f"hunter2-{secrets.token_hex(8)}"),
        ("nobody@verify.test", PASSWORD),
    ):
        with httpx.Client(base_url=scan.server.url, timeout=60) as page:
            page.get("/login")
            csrf = page.cookies.get("fw_login_csrf") or ""
            form = {"email": email, "password": scan.secret(password), "csrf_token": csrf}
            scan.answer(page.post("/login", data=form), 401)


def users_and_keys(scan: Scan) -> None:
    first = scan.secret(f"first-{secrets.token_urlsafe(12)}")
    user = {"email": "operator@verify.test", "role": "operator", "password": first}
    made = scan.api("POST", "/api/v1/users", 201, json=user).json()
    short = scan.secret("s3cr")
    scan.api(
        "POST", "/api/v1/users", 422, json={**user, "email": "x@verify.test", "password": short}
    )
    second = scan.secret(f"second-{secrets.token_urlsafe(12)}")
    scan.api("PATCH", f"/api/v1/users/{made['id']}", 200, json={"password": second})
    # Too short to be accepted, yet random: a two-letter secret such as "x1" turns up by
    # chance in ids and token prefixes and is then reported as a leak.
    too_short = scan.secret(f"z{secrets.token_hex(3)}")
    scan.api("PATCH", f"/api/v1/users/{made['id']}", 422, json={"password": too_short})

    key = scan.secret(
        scan.api("POST", "/api/v1/api-keys", 201, json={"name": "scan"}).json()["key"]
    )
    headers = {"Authorization": f"Bearer {key}"}
    scan.answer(httpx.get(scan.server.url + "/api/v1/clients", headers=headers), 200)
    for guess in (wrong(key), wrong(scan.server.api_key), f"fwk_{secrets.token_urlsafe(24)}"):
        guessed = {"Authorization": f"Bearer {scan.secret(guess)}"}
        scan.answer(httpx.get(scan.server.url + "/api/v1/clients", headers=guessed), 401)
    # A key sent where it does not belong: in a query string and in a body.
    scan.answer(httpx.get(scan.server.url + f"/api/v1/clients?api_key={quote(key)}"), 401)
    scan.api("POST", "/api/v1/clients", 422, json={"name": 5, "key": key})


def webhooks(scan: Scan, traffic: Traffic) -> None:
    secret = scan.secret(traffic.webhook_secret)
    body = traffic.webhook().body
    for headers in (
        {"X-Fleetward-Token": secret},
        {"Authorization": f"Bearer {secret}"},
        {
            "X-Fleetward-Signature": "sha256="
            + hmac.new(secret.encode(), body, "sha256").hexdigest()
        },
    ):
        scan.post(traffic.webhook_path, 200, content=body, headers=headers)
    for headers in (
        {"X-Fleetward-Token": scan.secret(wrong(secret))},
        {"Authorization": f"Bearer {scan.secret(wrong(secret))}"},
        {"X-Fleetward-Signature": "sha256=" + hashlib.sha256(secret.encode()).hexdigest()},
    ):
        scan.post(traffic.webhook_path, 401, content=traffic.webhook().body, headers=headers)
    right = {"X-Fleetward-Token": secret}
    scan.post(traffic.webhook_path, 400, content=body[:-7], headers=right)  # a dead letter
    scan.post(traffic.webhook_path, 400, content=orjson.dumps({"secret": secret}), headers=right)
    path = f"/api/v1/integrations/{traffic.integration_id}/rotate-secret"
    rotated = scan.secret(scan.api("POST", path, 200).json()["webhook_secret"])
    scan.post(traffic.webhook_path, 401, content=body, headers=right)  # the old one
    scan.post(traffic.webhook_path, 200, content=body, headers={"X-Fleetward-Token": rotated})


def provider_credentials(scan: Scan) -> None:
    """RMM API credentials set, changed and refused: never answered back."""
    first = {
        "client_id": scan.secret(secrets.token_urlsafe(16)),
        "client_secret": scan.secret(secrets.token_urlsafe(32)),
    }
    body = {"provider": "ninjaone", "name": "Ninja scan", "credentials": first}
    body["settings"] = {"api_base_url": "https://eu.ninjarmm.com"}
    made = scan.api("POST", "/api/v1/integrations", 201, json=body)
    path = f"/api/v1/integrations/{made.json()['id']}"
    rotated = {"client_secret": scan.secret(secrets.token_urlsafe(32))}
    answers = [made, scan.api("PATCH", path, 200, json={"credentials": rotated})]
    answers += [scan.api("GET", path, 200), scan.api("GET", "/api/v1/integrations", 200)]
    # Refused: a name the provider does not take, and a provider with no API at all.
    scan.api(
        "PATCH",
        path,
        422,
        json={"credentials": {"api_key": scan.secret(wrong(first["client_secret"]))}},
    )
    generic = {"provider": "generic", "name": "G", "credentials": {"api_key": first["client_id"]}}
    scan.api("POST", "/api/v1/integrations", 422, json=generic)
    for answer in answers:
        assert not any(value in answer.text for value in scan.secrets), answer.text


def agents(scan: Scan, traffic: Traffic) -> None:
    site = scan.api("GET", "/api/v1/agents", 200).json()["items"][0]["site_id"]
    made = scan.api("POST", "/api/v1/enrollment-tokens", 201, json={"site_id": site}).json()
    token = scan.secret(made["token"])
    enrol = {"hostname": "SCAN-01", "os": "Windows 11", "agent_version": "1"}
    scan.post("/api/v1/agent/enroll", 401, json={**enrol, "token": scan.secret(wrong(token))})
    scan.post("/api/v1/agent/enroll", 422, json={**enrol, "token": token, "hostname": ""})
    agent_key = scan.secret(
        scan.post("/api/v1/agent/enroll", 201, json={**enrol, "token": token}).json()["agent_key"]
    )
    for _, known in traffic.agents:
        scan.secret(known)
    events = orjson.loads(traffic.batch(3).body)
    right = {"Authorization": f"Bearer {agent_key}"}
    scan.post("/api/v1/agent/events", 200, json=events, headers=right)
    scan.post(
        "/api/v1/agent/events",
        401,
        json=events,
        headers={"Authorization": f"Bearer {scan.secret(wrong(agent_key))}"},
    )
    events["events"][0]["kind"] = agent_key  # a key where a kind belongs
    scan.post("/api/v1/agent/events", 422, json=events, headers=right)
    scan.post("/api/v1/agent/events", 422, content=b"{" + agent_key.encode(), headers=right)
    revoked = scan.api("POST", f"/api/v1/enrollment-tokens/{made['id']}/revoke", 200)
    assert revoked.json()["revoked_at"]
    scan.post("/api/v1/agent/enroll", 401, json={**enrol, "token": token})


def audit_log(server: LiveServer) -> Iterator[str]:
    """Every audit entry of the tenant, page by page, as the JSON the API gives."""
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = server.api("GET", "/api/v1/audit-log", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        yield from (orjson.dumps(entry).decode() for entry in body["items"])
        cursor = body.get("next")
        if not cursor:
            return


def encodings(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def test_no_secret_in_logs_error_bodies_or_the_audit_log(tmp_path: Path, ledger: Ledger) -> None:
    line = ledger.line("secret scan")
    env = {"FLEETWARD_LOG_LEVEL": "DEBUG", "FLEETWARD_LOG_JSON": "true"}
    with fleetward_server(tmp_path, env=env) as server:
        fernet_key = (server.data_dir / "secret.key").read_text().strip()
        scan = Scan(server, {PASSWORD, server.api_key, fernet_key})
        traffic = Traffic.prepare(server, agents=1)
        logins(scan)
        users_and_keys(scan)
        webhooks(scan, traffic)
        provider_credentials(scan)
        agents(scan, traffic)
        entries = list(audit_log(server))
    logged = [
        text
        for log in sorted(server.data_dir.glob("server-*.log"))
        for text in log.read_text(errors="replace").splitlines()
    ]
    places = {"log": logged, "error body": scan.error_bodies, "audit entry": entries}
    found = [
        (where, secret, text[:300])
        for where, texts in places.items()
        for text in texts
        for secret in scan.secrets
        if any(form in text for form in encodings(secret))
    ]
    line.note = f"{len(scan.secrets)} secrets in {sum(map(len, places.values()))} texts"
    line.add(
        load=scan.requests,
        bad_inputs=scan.bad_inputs,
        leaks=len(found),
        server_errors=scan.server_errors,
    )
    # The scan sees what it must: the logs name the integration its webhooks went to.
    assert any(traffic.integration_id in text for text in logged), "no request logged"
    assert entries, "no audit entry to scan"
    assert not found, found
    assert scan.server_errors == 0
