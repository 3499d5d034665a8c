"""The login limits under concurrency, per account and per address, on both engines.

Wrong passwords are held inside the password check until the test lets them go
(HeldPasswords), so every attempt of a burst is in flight at once whatever the
machine's speed: the limit must hold while no failure has been recorded yet.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from fleetward.adapters.storage import schema
from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.errors import RateLimited, Unauthenticated
from fleetward.entrypoints.http.app import create_app
from fleetward.services.ports import PasswordHasher
from tests.conftest import FAST_PASSWORDS, PASSWORD, make_tenant
from tests.support.live_server import bind_local, serve

ADDRESS = "192.0.2.10"
BURST = 40
# Only a guard against a hung test, never reached when the code is right.
HANG_GUARD_S = 60.0


class HeldPasswords:
    """Real argon2 verification, but a wrong password waits inside verify() until
    release(): the whole burst is then in flight together."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.held = 0
        self.answered = 0
        self._changed = threading.Condition()
        self._released = threading.Event()

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        if password != PASSWORD:
            with self._changed:
                self.held += 1
                self._changed.notify_all()
            assert self._released.wait(HANG_GUARD_S), "held attempts were never released"
        return self.inner.verify(password_hash, password)

    def count_answer(self) -> None:
        with self._changed:
            self.answered += 1
            self._changed.notify_all()

    def wait_until_all_held_or_answered(self, total: int) -> None:
        with self._changed:
            settled = self._changed.wait_for(
                lambda: self.held + self.answered >= total, HANG_GUARD_S
            )
        assert settled, f"{self.held} held and {self.answered} answered of {total}"

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def held() -> Iterator[HeldPasswords]:
    passwords = HeldPasswords(FAST_PASSWORDS)
    yield passwords
    passwords.release()  # a failing test must not leave threads waiting


def _container(settings: Settings, passwords: PasswordHasher, **changes: object) -> Container:
    return build(settings.model_copy(update=changes), passwords=passwords)


def _outcome(c: Container, email: str, password: str, address: str = ADDRESS) -> str:
    try:
        c.identity.login(email, password, address)
    except Unauthenticated:
        return "401"
    except RateLimited:
        return "429"
    except Exception as exc:  # what the user would see as a 500
        return f"500 {exc!r}"
    return "in"


def _guess_in_threads(
    c: Container, email: str, held: HeldPasswords, count: int
) -> tuple[list[threading.Thread], list[str]]:
    """`count` wrong passwords for `email`, each on a thread of its own, all held inside the
    password check until `held.release()`; returns the threads and their outcomes."""
    outcomes: list[str] = []

    def attempt(number: int) -> None:
        outcomes.append(_outcome(c, email, f"wrong guess {number}"))
        held.count_answer()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    held.wait_until_all_held_or_answered(count)
    return threads, outcomes


def test_a_burst_of_wrong_passwords_gets_the_limit_and_no_more(
    settings: Settings, held: HeldPasswords
) -> None:
    c = _container(settings, held)
    try:
        email = make_tenant(c, "Acme MSP").operator.email
        threads, outcomes = _guess_in_threads(c, email, held, BURST)
        # The limit is used up by attempts still being checked, none recorded as failed
        # yet: the right password must not slip in between.
        assert _outcome(c, email, PASSWORD) == "429"
        held.release()
        for thread in threads:
            thread.join()
        assert Counter(outcomes) == {"401": 5, "429": BURST - 5}
        assert _outcome(c, email, PASSWORD) == "429"
        # Another account from the same address is not held up by this one's failures.
        assert _outcome(c, "admin@acme-msp.test", PASSWORD) == "in"
    finally:
        c.close()


def test_the_right_password_before_the_limit_gets_in_and_uses_no_attempt(
    settings: Settings, held: HeldPasswords
) -> None:
    c = _container(settings, held)
    try:
        email = make_tenant(c, "Acme MSP").operator.email
        threads, outcomes = _guess_in_threads(c, email, held, 4)
        # Four failures in flight, one attempt left: the right password takes it and gets in.
        for _ in range(3):
            assert _outcome(c, email, PASSWORD) == "in"
        held.release()
        for thread in threads:
            thread.join()
        assert outcomes == ["401"] * 4
        # The logins gave their attempts back: the fifth failure is still a 401.
        assert _outcome(c, email, "wrong again") == "401"
        assert _outcome(c, email, "and again") == "429"
        assert _outcome(c, email, PASSWORD) == "429"
    finally:
        c.close()


def test_one_accounts_failures_do_not_lock_out_others_at_its_address(
    settings: Settings, held: HeldPasswords
) -> None:
    held.release()
    c = _container(settings, held)
    try:
        tenant = make_tenant(c, "Acme MSP")
        outcomes = [_outcome(c, tenant.operator.email, "not it") for _ in range(6)]
        assert outcomes == ["401"] * 5 + ["429"]
        assert _outcome(c, tenant.admin.email, PASSWORD) == "in"
        assert _outcome(c, tenant.readonly.email, "not it either") == "401"
    finally:
        c.close()


def test_many_accounts_failing_from_one_address_lock_that_address(
    settings: Settings, held: HeldPasswords
) -> None:
    held.release()
    limit = 12
    c = _container(settings, held, login_max_failures_per_address=limit)
    try:
        tenant = make_tenant(c, "Acme MSP")
        guesses = [_outcome(c, f"guess{n}@acme-msp.test", "not it") for n in range(limit)]
        assert guesses == ["401"] * limit
        # The address is used up: even a right password from it waits.
        assert _outcome(c, tenant.admin.email, PASSWORD) == "429"
        assert _outcome(c, tenant.admin.email, PASSWORD, "198.51.100.7") == "in"
    finally:
        c.close()


class SteppedClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _throttle_rows(c: Container) -> set[str]:
    with c.db.read() as conn:
        return set(conn.execute(select(schema.login_throttle.c.subject)).scalars())


def test_a_used_up_account_may_try_again_when_its_window_ends_and_old_counters_go(
    settings: Settings,
) -> None:
    clock = SteppedClock()
    c = build(settings, clock=clock, passwords=FAST_PASSWORDS)
    try:
        email = make_tenant(c, "Acme MSP").operator.email
        for n in range(5):
            assert _outcome(c, f"stranger{n}@nowhere.test", "not it", f"198.51.100.{n}") == "401"
        outcomes = [_outcome(c, email, "not it") for _ in range(6)]
        assert outcomes == ["401"] * 5 + ["429"]
        assert len(_throttle_rows(c)) == 12
        clock.now += timedelta(seconds=settings.login_window_seconds)
        assert _outcome(c, email, "still not it") == "401"
        # That failure deleted the counters whose windows had ended.
        assert _throttle_rows(c) == {f"account:{email}", f"address:{ADDRESS}"}
        assert _outcome(c, email, PASSWORD) == "in"
    finally:
        c.close()


@pytest.mark.parametrize(
    "email",
    ["nul\x00@acme-msp.test", "x" * 5000 + "@acme-msp.test", "\ud800@acme-msp.test"],
)
def test_an_e_mail_no_column_could_hold_is_a_wrong_login_not_an_error(
    settings: Settings, email: str
) -> None:
    c = build(settings, passwords=FAST_PASSWORDS)
    try:
        outcomes = [_outcome(c, email, PASSWORD, "x" * 5000) for _ in range(6)]
        assert outcomes == ["401"] * 5 + ["429"]
    finally:
        c.close()


def _login_form(client: httpx.Client) -> dict[str, str]:
    import re

    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return {"csrf_token": found.group(1)}


def test_a_burst_over_http_gets_401s_up_to_the_limit_then_429_never_500(
    settings: Settings,
) -> None:
    c = build(settings, passwords=FAST_PASSWORDS)
    sock = bind_local()
    try:
        email = make_tenant(c, "Acme MSP").operator.email
        with serve(create_app(c), sock) as url, httpx.Client(base_url=url, timeout=60) as form:
            fields = _login_form(form)
            cookies = dict(form.cookies)

            def attempt(password: str) -> int:
                with httpx.Client(base_url=url, cookies=cookies, timeout=60) as client:
                    data = {**fields, "email": email, "password": password}
                    return client.post("/login", data=data).status_code

            with ThreadPoolExecutor(BURST) as pool:
                statuses = Counter(pool.map(attempt, [f"wrong {n}" for n in range(BURST)]))
            assert statuses[401] <= 5 and statuses[401] + statuses[429] == BURST, statuses
            assert attempt(PASSWORD) == 429
    finally:
        c.close()
