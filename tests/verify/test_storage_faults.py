"""Storage faults under a real `fleetward serve`: the database made read-only, and a
full disk. While the fault lasts, webhooks are refused with 503 and nothing of
them is kept, reads answer and /healthz says degraded; once it is gone, without
a restart, the refused deliveries sent again land exactly once and /healthz
says ok.

The server runs as an unprivileged account (root ignores file permissions); the
full disk is a small tmpfs filled with a ballast file (mounting needs root).
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.agent_live import LiveServer, wait_for
from tests.support.components import missing
from tests.support.pipeline import sample
from tests.support.unprivileged import Account, unprivileged_account
from tests.verify.ledger import Ledger, size

WEBHOOKS = size(36, 600)  # per fault: a third before, a third during, a third after
FAULTS = size(1, 3)
SENDERS = 8
RECOVERY_S = 15.0  # generous bounds, polled: not timings
DISK_BYTES = 64 * 1024 * 1024
MAX_FULL_BATCHES = 50

pytestmark = pytest.mark.timeout(900)


@dataclass
class Tally:
    """What the sender saw: every answer, what was acknowledged and what refused."""

    load: int = 0
    server_errors: int = 0
    acknowledged: Counter[str] = field(default_factory=Counter)  # external id -> times created
    kept_though_refused: int = 0
    refused_during_fault: int = 0
    problems: list[str] = field(default_factory=list)

    def unexpected(self, what: str, answer: httpx.Response) -> None:
        self.server_errors += 1
        self.problems.append(f"{what}: {answer.status_code} {answer.text[:200]}")


class Hook:
    """One generic integration of a live server, and deliveries to it."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        made = server.api("POST", "/api/v1/clients", json={"name": "Storage faults"})
        assert made.status_code == 201, made.text
        integration = server.api(
            "POST",
            "/api/v1/integrations",
            json={
                "provider": "generic",
                "name": "storage faults",
                "settings": {"default_client_id": made.json()["id"]},
            },
        )
        assert integration.status_code == 201, integration.text
        self.integration: dict[str, Any] = integration.json()
        self.http = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=SENDERS))

    def deliveries(self, count: int) -> list[dict[str, Any]]:
        made = []
        for _ in range(count):
            body = sample("generic", "trigger")
            tag = uuid.uuid4().hex
            body["external_alert_id"] = f"fault-{tag}"
            body["series_key"] = f"series-{tag}"
            made.append(body)
        return made

    def send(self, bodies: Sequence[dict[str, Any]]) -> list[httpx.Response]:
        headers = {"X-Fleetward-Token": self.integration["webhook_secret"]}
        url = self.integration["webhook_url"]
        with ThreadPoolExecutor(SENDERS) as pool:
            return list(pool.map(lambda b: self.http.post(url, json=b, headers=headers), bodies))

    def read(self, count: int) -> list[httpx.Response]:
        """Reads in parallel (they make the server open connections meanwhile)."""
        url = self.server.url + "/api/v1/alerts"
        params = {"integration_id": self.integration["id"], "limit": 5}
        with ThreadPoolExecutor(SENDERS) as pool:
            return list(
                pool.map(
                    lambda _: self.http.get(url, params=params, headers=self.server.headers),
                    range(count),
                )
            )

    def stored(self) -> Counter[str]:
        """How often each external alert id is stored, from the API, page by page."""
        found: Counter[str] = Counter()
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"integration_id": self.integration["id"], "limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = self.server.api("GET", "/api/v1/alerts", params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            found.update(item["external_alert_id"] for item in body["items"])
            cursor = body.get("next")
            if not cursor:
                return found

    def health(self) -> dict[str, Any]:
        answer = self.http.get(self.server.url + "/healthz")
        body: dict[str, Any] = answer.json()
        body["code"] = answer.status_code
        return body


def _accept(tally: Tally, bodies: Sequence[dict[str, Any]], hook: Hook, what: str) -> None:
    """Send with no fault on: each must be created (a 503 here is outside any fault)."""
    for body, answer in zip(bodies, hook.send(bodies), strict=True):
        tally.load += 1
        if answer.status_code == 200 and answer.json()["result"] == "recorded":
            tally.acknowledged[body["external_alert_id"]] += 1
        else:
            tally.unexpected(what, answer)


def _during_fault(tally: Tally, bodies: Sequence[dict[str, Any]], hook: Hook) -> list[Any]:
    """Send while the fault is on; the refused, to send again. An acknowledged one
    must land like any other."""
    refused = []
    for body, answer in zip(bodies, hook.send(bodies), strict=True):
        tally.load += 1
        if answer.status_code == 503 and answer.json()["error"]["code"] == "storage_unavailable":
            tally.refused_during_fault += 1
            refused.append(body)
        elif answer.status_code == 200 and answer.json()["result"] == "recorded":
            tally.acknowledged[body["external_alert_id"]] += 1
        else:
            tally.unexpected("during the fault", answer)
    for answer in hook.read(len(bodies)):
        tally.load += 1
        if answer.status_code != 200:
            tally.unexpected("a read during the fault", answer)
    return refused


def _resend(tally: Tally, refused: Sequence[dict[str, Any]], hook: Hook) -> None:
    """The fault is gone: what was refused lands now, each once, nothing of it kept
    before (it would answer `duplicate`)."""
    for body, answer in zip(refused, hook.send(refused), strict=True):
        tally.load += 1
        if answer.status_code == 200 and answer.json()["result"] == "recorded":
            tally.acknowledged[body["external_alert_id"]] += 1
        elif answer.status_code == 200 and answer.json()["result"] == "duplicate":
            tally.kept_though_refused += 1
            tally.acknowledged[body["external_alert_id"]] += 1
        else:
            tally.unexpected("a refused delivery sent again", answer)


def _losses(tally: Tally, hook: Hook) -> int:
    """Acknowledged but missing, or stored more than once."""
    stored = hook.stored()
    missing_ones = sum(1 for key in tally.acknowledged if stored[key] == 0)
    doubled = sum(count - 1 for count in stored.values() if count > 1)
    unexpected = sum(1 for key in stored if key not in tally.acknowledged)
    return missing_ones + doubled + unexpected


def _health_is(hook: Hook, status: str) -> bool:
    return bool(hook.health()["status"] == status)


@contextmanager
def _server(account: Account, data: Path, logs: Path) -> Iterator[LiveServer]:
    server = LiveServer(data, account=account, log_dir=logs)
    try:
        server.initialise()
        server.start()
        yield server
    finally:
        server.stop()


def _account() -> Account:
    account = unprivileged_account()
    if account is None:
        missing(
            "an account file permissions bind",
            "root ignores them: add user nobody, or util-linux for setpriv",
        )
    assert account is not None
    return account


@contextmanager
def _workspace(account: Account) -> Iterator[Path]:
    # Not under pytest's tmp_path: its parent is root's alone.
    base = Path(tempfile.mkdtemp(prefix="fleetward-faults-"))
    try:
        account.own(base)
        (base / "logs").mkdir()
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _record(ledger: Ledger, check: str, tally: Tally, faults: int, losses: int) -> None:
    line = ledger.line(check).add(
        load=tally.load, faults=faults, losses=losses, server_errors=tally.server_errors
    )
    line.note = f"{tally.refused_during_fault} webhooks refused (503) during faults, resent"


def _settle(tally: Tally, hook: Hook, check: str, ledger: Ledger, faults: int) -> int:
    """Count the losses and record the check's line (before anything asserts)."""
    losses = _losses(tally, hook)
    _record(ledger, check, tally, faults, losses)
    return losses


def _assert_clean(tally: Tally, losses: int) -> None:
    assert losses == 0
    assert tally.server_errors == 0, tally.problems[:5]
    assert tally.kept_though_refused == 0, "a delivery answered 503 was kept"


# --- read-only storage ------------------------------------------------------


def _set_read_only(data: Path, read_only: bool) -> None:
    """The database file and its directory, as `chmod a-w` would leave them."""
    os.chmod(data / "fleetward.db", 0o444 if read_only else 0o644)
    os.chmod(data, 0o555 if read_only else 0o755)


def test_read_only_storage_refuses_writes_and_recovers_without_a_restart(ledger: Ledger) -> None:
    account = _account()
    tally, faults, third = Tally(), 0, max(WEBHOOKS // 3, 1)
    with _workspace(account) as base, _server(account, base / "server", base / "logs") as server:
        hook = Hook(server)
        try:
            for _ in range(FAULTS):
                _accept(tally, hook.deliveries(third), hook, "before the fault")
                _set_read_only(server.data_dir, True)
                faults += 1
                try:
                    wait_for(lambda: _health_is(hook, "degraded"), RECOVERY_S, "degraded")
                    refused = _during_fault(tally, hook.deliveries(third), hook)
                    assert hook.health()["database"]["reason"] == "read-only"
                finally:
                    _set_read_only(server.data_dir, False)
                _resend(tally, refused, hook)
                # Writes that take pooled connections, some opened while read-only.
                for _ in range(SENDERS):
                    name = f"after {uuid.uuid4().hex}"
                    made = server.api("POST", "/api/v1/clients", json={"name": name})
                    tally.load += 1
                    if made.status_code != 201:
                        tally.unexpected("an API write after the fault", made)
                _accept(tally, hook.deliveries(third), hook, "after the fault")
                wait_for(lambda: _health_is(hook, "ok"), RECOVERY_S, "/healthz ok again")
        finally:
            losses = _settle(tally, hook, "read-only storage", ledger, faults)
    _assert_clean(tally, losses)
    assert tally.refused_during_fault == faults * third, "writes landed on a read-only database"


# --- full disk ----------------------------------------------------------------


@contextmanager
def _small_disk(base: Path, account: Account) -> Iterator[Path]:
    if os.geteuid() != 0:
        missing("a tmpfs mount", "mounting a small file system needs root")
    disk = base / "disk"
    disk.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0755", "tmpfs", str(disk)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    try:
        account.own(disk)
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, timeout=30)


def _fill(path: Path) -> None:
    """Write zeros until the file system has no byte left."""
    chunk = b"\0" * (1 << 20)
    with path.open("wb", buffering=0) as ballast:
        while True:
            try:
                ballast.write(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                chunk = chunk[: len(chunk) // 2]
                if not chunk:
                    return


def _until_refused(tally: Tally, hook: Hook, batch: int) -> list[Any]:
    """Send on a full disk until it refuses: commits reuse the room the WAL file
    already has (and the database file its free pages) until those run out."""
    for _ in range(MAX_FULL_BATCHES):
        if refused := _during_fault(tally, hook.deliveries(batch), hook):
            return refused
    raise AssertionError(f"the full disk refused none of {MAX_FULL_BATCHES * batch} webhooks")


def test_full_disk_refuses_writes_and_every_refused_delivery_lands_once_after(
    ledger: Ledger,
) -> None:
    account = _account()
    tally, faults, third = Tally(), 0, max(WEBHOOKS // 3, 1)
    with _workspace(account) as base, _small_disk(base, account) as disk:
        data = disk / "server"
        with _server(account, data, base / "logs") as server:
            hook = Hook(server)
            try:
                for _ in range(FAULTS):
                    _accept(tally, hook.deliveries(third), hook, "before the fault")
                    ballast = disk / "ballast"
                    _fill(ballast)
                    faults += 1
                    try:
                        refused = _until_refused(tally, hook, third)
                        wait_for(lambda: _health_is(hook, "degraded"), RECOVERY_S, "degraded")
                        assert hook.health()["database"]["reason"] == "disk full"
                    finally:
                        ballast.unlink()
                    _resend(tally, refused, hook)
                    _accept(tally, hook.deliveries(third), hook, "after the fault")
                    wait_for(lambda: _health_is(hook, "ok"), RECOVERY_S, "/healthz ok again")
            finally:
                losses = _settle(tally, hook, "full disk", ledger, faults)
        _assert_clean(tally, losses)
        with sqlite3.connect(f"file:{data / 'fleetward.db'}?mode=ro", uri=True) as check:
            assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
