"""Errors as people meet them: styled HTML pages with a way back; the API keeps its JSON.

A person's browser (it accepts text/html) gets a page for an unknown address, a
missing or forbidden object and an unexpected failure, with the navigation when
logged in and a link back that fits the address. Anything under /api/ answers
{"error": {...}} whatever it accepts, and so does a client that does not ask
for HTML.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from fleetward.bootstrap import Container
from fleetward.domain.errors import StorageUnavailable
from fleetward.entrypoints.http.app import create_app
from fleetward.entrypoints.http.pages.common import PageRoute
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in

pytestmark = pytest.mark.sqlite_only

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SECRET_DETAIL = "database password is hunter2"


def failing_page() -> None:
    """A page whose handler fails in a way nobody planned for."""
    raise RuntimeError(SECRET_DETAIL)


def failing_route() -> None:
    raise RuntimeError(SECRET_DETAIL)


def storage_gone() -> None:
    """What the storage adapters raise when the database cannot be reached."""
    raise StorageUnavailable("storage unavailable, try again", detail=SECRET_DETAIL)


@pytest.fixture
def app(container: Container) -> FastAPI:
    """The real app, plus a page and an API route that fail unexpectedly (and, for the
    page served outside the pages' own route class, a plain route)."""
    app = create_app(container)
    pages = APIRouter(route_class=PageRoute)
    pages.add_api_route("/boom", failing_page)
    pages.add_api_route("/busy", storage_gone)
    plain = APIRouter()
    plain.add_api_route("/plain-boom", failing_route)
    plain.add_api_route("/api/v1/boom", failing_route)
    plain.add_api_route("/api/v1/busy", storage_gone)
    app.router.routes.extend([*pages.routes, *plain.routes])
    return app


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    # Unhandled errors are answered, not re-raised into the test.
    with TestClient(app, headers=BROWSER, raise_server_exceptions=False) as tc:
        yield tc


def ways_back(page: Response) -> list[tuple[str, str]]:
    block = re.search(r'<ul class="error-ways"[^>]*>(.*?)</ul>', page.text, re.S)
    assert block, "the error page offers no way back"
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', block.group(1))


def has_navigation(page: Response) -> bool:
    return 'aria-label="Main"' in page.text


def test_an_unknown_address_is_a_styled_404_page_with_the_navigation(
    browser: TestClient, tenant: TenantFixture
) -> None:
    log_in(browser, tenant.operator.email)
    page = browser.get("/nope")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1" in page.text and "Not found" in page.text
    assert "/static/app.css" in page.text
    assert has_navigation(page)
    assert ways_back(page) == [("/", "Go to the overview")]
    assert page.headers["cache-control"] == "no-store"


def test_an_unknown_address_without_a_session_offers_to_log_in(browser: TestClient) -> None:
    page = browser.get("/nope/deeper")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert not has_navigation(page)
    assert ways_back(page) == [("/login", "Log in")]


def test_a_missing_ticket_leads_back_to_the_tickets(
    browser: TestClient, tenant: TenantFixture
) -> None:
    log_in(browser, tenant.operator.email)
    page = browser.get(f"/tickets/{uuid.uuid4()}")
    assert page.status_code == 404
    assert ways_back(page) == [("/tickets", "Back to tickets"), ("/", "Go to the overview")]
    # An unknown address under a list's path leads back to that list too.
    assert ways_back(browser.get("/agents/x/y/z"))[0] == ("/agents", "Back to agents")


def test_a_page_the_role_may_not_see_is_a_403_page_with_a_way_back(
    browser: TestClient, tenant: TenantFixture
) -> None:
    log_in(browser, tenant.readonly.email)
    page = browser.get("/users")
    assert page.status_code == 403
    assert "Not allowed" in page.text
    assert has_navigation(page)
    assert ways_back(page) == [("/", "Go to the overview")]


def test_an_unexpected_failure_on_a_page_is_a_500_page_without_a_trace(
    browser: TestClient, tenant: TenantFixture
) -> None:
    log_in(browser, tenant.operator.email)
    for path in ("/boom", "/plain-boom"):
        page = browser.get(path)
        assert page.status_code == 500, path
        assert page.headers["content-type"].startswith("text/html")
        assert "Something went wrong" in page.text
        assert SECRET_DETAIL not in page.text and "Traceback" not in page.text
        assert has_navigation(page)
        assert ("/", "Go to the overview") in ways_back(page)


def test_storage_that_cannot_be_reached_is_a_503_page_for_a_person(
    browser: TestClient, tenant: TenantFixture
) -> None:
    log_in(browser, tenant.operator.email)
    page = browser.get("/busy")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "Try again shortly" in page.text and "storage unavailable, try again" in page.text
    assert SECRET_DETAIL not in page.text
    answer = browser.get("/api/v1/busy")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "storage_unavailable"
    assert SECRET_DETAIL not in answer.text


def test_the_api_keeps_its_json_errors_even_for_a_browser(
    browser: TestClient, tenant: TenantFixture
) -> None:
    log_in(browser, tenant.operator.email)
    missing = browser.get("/api/v1/nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not Found"}}
    failed = browser.get("/api/v1/boom")
    assert failed.status_code == 500
    assert failed.json() == {"error": {"code": "internal", "message": "internal error"}}
    assert SECRET_DETAIL not in failed.text
    unknown_ticket = browser.get(f"/api/v1/tickets/{uuid.uuid4()}")
    assert unknown_ticket.status_code == 404
    assert unknown_ticket.json()["error"]["code"] == "not_found"


def test_a_client_that_does_not_ask_for_html_gets_json(app: FastAPI) -> None:
    with TestClient(app, raise_server_exceptions=False) as machine:
        missing = machine.get("/nope", headers={"Accept": "*/*"})
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert machine.get("/plain-boom").json()["error"]["code"] == "internal"
