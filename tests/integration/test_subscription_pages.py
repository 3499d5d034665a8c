"""The webhook subscriptions pages: create with the secret shown once, disable,
the delivery log with its Replay button (a CSRF-checked post), delete; admins only."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.config import Settings
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.aio import run_coroutine
from tests.support.pages import setup_pipeline
from tests.support.receiver import Receiver, header, receiver, signature_verifies
from tests.support.settings import loopback_settings

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return loopback_settings(database_url, tmp_path)


def test_an_admin_subscribes_sees_the_secret_once_and_replays_a_delivery(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    target: Receiver
    with receiver() as target:
        csrf = log_in(client, tenant.admin.email)
        listing = client.get("/webhook-subscriptions")
        assert listing.status_code == 200 and "No subscriptions yet" in listing.text
        assert 'href="/webhook-subscriptions"' in listing.text  # the nav link

        refused = client.post(
            "/webhook-subscriptions",
            data={"csrf_token": csrf, "url": "ftp://x.example.com", "events": ["*"]},
        )
        assert refused.status_code == 422 and "http(s)" in refused.text

        made = client.post(
            "/webhook-subscriptions",
            data={"csrf_token": csrf, "url": target.url, "events": ["alert.triggered"]},
        )
        assert made.status_code == 200, made.text
        secret = re.search(
            r'value="(fws_[^"]+)" readonly data-testid="subscription-secret"', made.text
        )
        assert secret
        (subscription,) = client.get(
            "/api/v1/webhook-subscriptions", headers=tenant.admin.headers
        ).json()["items"]
        detail_path = f"/webhook-subscriptions/{subscription['id']}"
        assert secret.group(1) not in client.get(detail_path).text  # shown once

        setup_pipeline(client, tenant)
        run_coroutine(container.jobs.run_until_idle())
        detail = client.get(detail_path)
        (delivery_id,) = re.findall(r'<td class="mono small">([0-9a-f-]{36})</td>', detail.text)
        assert delivery_id == header(target.requests[0], "X-Fleetward-Delivery")
        assert signature_verifies(target.requests[0], html.unescape(secret.group(1)))

        replay = f"{detail_path}/deliveries/{delivery_id}/replay"
        assert client.post(replay, data={"csrf_token": "wrong"}).status_code == 403
        replayed = client.post(replay, data={"csrf_token": csrf}, follow_redirects=False)
        assert replayed.status_code == 303
        run_coroutine(container.jobs.run_until_idle())
        assert [header(r, "X-Fleetward-Delivery") for r in target.requests] == [delivery_id] * 2

        disabled = client.post(
            f"{detail_path}/enabled", data={"csrf_token": csrf, "enabled": "false"}
        )
        assert disabled.status_code == 200 and "badge-off" in disabled.text
        assert "Delete" in client.get(f"{detail_path}/delete").text
        gone = client.post(f"{detail_path}/delete", data={"csrf_token": csrf})
        assert gone.status_code == 200 and "No subscriptions yet" in gone.text


def test_operators_do_not_see_the_page_or_its_link(
    client: TestClient, tenant: TenantFixture
) -> None:
    log_in(client, tenant.operator.email)
    page = client.get("/webhook-subscriptions")
    assert page.status_code == 403
    assert 'href="/webhook-subscriptions"' not in client.get("/alerts").text
