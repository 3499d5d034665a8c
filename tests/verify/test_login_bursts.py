"""Bursts of wrong passwords through a real server: no account gets more password
checks than its limit, no right password gets in once it is used up, nothing answers 500."""

from __future__ import annotations

import random
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from fleetward.bootstrap import build
from fleetward.config import Settings
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.identity import Role
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, PASSWORD
from tests.support.live_server import bind_local, serve
from tests.verify.ledger import Ledger, size

BURST = 40  # wrong passwords per account, all sent at once
CONCURRENCY = 40


def test_login_bursts_get_no_more_checks_than_the_limit(ledger: Ledger, settings: Settings) -> None:
    line = ledger.line(f"login bursts ({settings.resolved_database_url().split(':')[0]})")
    accounts = size(1, 10)
    c = build(settings, passwords=FAST_PASSWORDS)
    sock = bind_local()
    try:
        tenant = c.identity.create_tenant("Burst MSP")
        emails = [f"user{n}@burst.test" for n in range(accounts + 1)]
        for email in emails:
            c.identity.create_user(SYSTEM_CLI, tenant.id, email, Role.OPERATOR, PASSWORD)
        untouched = emails.pop()
        with serve(create_app(c), sock) as url:
            with httpx.Client(base_url=url, timeout=60) as browser:
                page = browser.get("/login")
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                assert token, page.text
                cookies = dict(browser.cookies)

            def attempt(email: str, password: str) -> int:
                with httpx.Client(base_url=url, cookies=cookies, timeout=60) as client:
                    data = {"email": email, "password": password, "csrf_token": token.group(1)}
                    return client.post("/login", data=data).status_code

            attempts = [(email, f"guess {n}") for email in emails for n in range(BURST)]
            random.Random(7).shuffle(attempts)
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                statuses = list(pool.map(lambda a: attempt(*a), attempts))
            checked = Counter(
                email for (email, _), s in zip(attempts, statuses, strict=True) if s == 401
            )
            after = [attempt(email, PASSWORD) for email in emails]
            fresh = attempt(untouched, PASSWORD)
    finally:
        c.close()
    answers = [*statuses, *after, fresh]
    over_limit = sum(max(0, n - settings.login_max_failures) for n in checked.values())
    line.add(
        load=len(answers),
        bad_inputs=len(attempts),
        # A guess checked past the limit, or a right password let in after it, is a leak.
        leaks=over_limit + sum(1 for s in after if s != 429),
        server_errors=sum(1 for s in answers if s >= 500),
    )
    assert Counter(statuses) == {401: accounts * 5, 429: accounts * (BURST - 5)}
    assert after == [429] * accounts
    assert fresh == 303  # logged in: the address was not locked by the others' failures
