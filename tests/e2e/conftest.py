"""A real Fleetward served by uvicorn, and the system Chromium driven by Playwright.

One server and one browser for the whole session (starting them is the slow
part); every test gets a fresh browser context, so no cookies leak between
tests. Tests share the database, so each names its objects uniquely.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, PASSWORD, TenantFixture, make_tenant
from tests.support.components import find_chromium, missing

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Short, so a missing element fails the test in seconds rather than in 30.
TIMEOUT_MS = 5_000


@dataclass
class LiveServer:
    url: str
    container: Container
    tenant: TenantFixture


def _serve(app: FastAPI, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    host, port = sock.getsockname()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("e2e")
    settings = Settings(database_url=f"sqlite:///{tmp / 'x.db'}", data_dir=tmp)
    container = build(settings, migrate_schema=True, passwords=FAST_PASSWORDS)
    tenant = make_tenant(container, "Acme MSP")
    # Bound here and handed to uvicorn, so no other process can take the port between.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server, thread = _serve(create_app(container), sock)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", container, tenant)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        container.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        missing("Chromium", "install Debian's chromium package (make test does)")
    assert executable is not None
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=live_server.url)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def log_in(page: Page, email: str, password: str = PASSWORD, path: str = "/login") -> None:
    """Fill in and send the login form at `path` (which may carry ?next=)."""
    if path:
        page.goto(path)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
