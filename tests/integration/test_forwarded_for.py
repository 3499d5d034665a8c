"""X-Forwarded-For decides the login limit's client address only from trusted proxies.

The address limit is lowered so a few failures use an address up: which address
got used up shows which address the server believed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import build
from fleetward.config import Settings
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, PASSWORD, make_tenant
from tests.support.agent_live import running_server

ADDRESS_LIMIT = 3
PROXY = "10.0.0.7"

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _post_login(client: httpx.Client, email: str, password: str, forwarded_for: str | None) -> int:
    client.cookies.clear()  # each attempt as a fresh browser, never already logged in
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    data = {"email": email, "password": password, "csrf_token": token.group(1)}
    return client.post("/login", data=data, headers=headers, follow_redirects=False).status_code


def _use_up(client: httpx.Client, forwarded_for: str | None) -> None:
    """ADDRESS_LIMIT failures, each for another account, all said to come from forwarded_for."""
    for n in range(ADDRESS_LIMIT):
        assert _post_login(client, f"guess{n}@nowhere.test", "not it", forwarded_for) == 401


@contextmanager
def served(settings: Settings, peer: str, allow: str) -> Iterator[tuple[TestClient, str]]:
    """The app in process, its connections coming from `peer`; and an admin's e-mail."""
    changed = settings.model_copy(
        update={"login_max_failures_per_address": ADDRESS_LIMIT, "forwarded_allow_ips": allow}
    )
    c = build(changed, passwords=FAST_PASSWORDS)
    try:
        admin = make_tenant(c, "Acme MSP").admin.email
        with TestClient(create_app(c), client=(peer, 40000)) as client:
            yield client, admin
    finally:
        c.close()


def test_forwarded_for_is_ignored_when_no_proxy_is_trusted(settings: Settings) -> None:
    with served(settings, PROXY, "") as (client, admin):
        _use_up(client, "203.0.113.1")
        # Another claimed address changes nothing: the connecting address is used up.
        assert _post_login(client, admin, PASSWORD, "203.0.113.2") == 429


def test_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy(
    settings: Settings,
) -> None:
    with served(settings, "192.0.2.50", "10.0.0.0/8") as (client, admin):
        _use_up(client, "203.0.113.1")
        assert _post_login(client, admin, PASSWORD, "203.0.113.2") == 429


def test_forwarded_for_from_a_trusted_proxy_names_the_client(settings: Settings) -> None:
    with served(settings, PROXY, "10.0.0.0/8") as (client, admin):
        _use_up(client, "203.0.113.1")
        assert _post_login(client, admin, PASSWORD, "203.0.113.1") == 429
        # Another client behind the same proxy is not held up.
        assert _post_login(client, admin, PASSWORD, "203.0.113.2") == 303
        # A client cannot escape by writing its own entries in front of what the proxy
        # appended: the first untrusted address from the right is the one counted.
        assert _post_login(client, admin, PASSWORD, "198.51.100.9, 203.0.113.1") == 429


def test_fleetward_serve_believes_forwarded_for_only_from_its_configured_proxies(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEETWARD_FORWARDED_ALLOW_IPS", "127.0.0.1")
    monkeypatch.setenv("FLEETWARD_LOGIN_MAX_FAILURES_PER_ADDRESS", str(ADDRESS_LIMIT))
    with running_server(tmp_path, database_url) as live, httpx.Client(base_url=live.url) as client:
        _use_up(client, "203.0.113.1")
        assert _post_login(client, "admin@agent.test", PASSWORD, "203.0.113.1") == 429
        assert _post_login(client, "admin@agent.test", PASSWORD, "203.0.113.2") == 303
