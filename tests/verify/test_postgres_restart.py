"""A PostgreSQL restart during intake: 503s while it is down, never a 500, nothing lost.

`fleetward serve` runs on a PostgreSQL server of its own, which is stopped
(a fast shutdown ends every session) while webhooks and agent batches flow,
and started again some refused deliveries later. Requests that meet the
outage may answer 503; before it and after it every answer is 2xx, and
Fleetward is not restarted: its pooled connections to the old server must
not fail requests once PostgreSQL is back. Everything refused is sent again
and then stored exactly once, like everything acknowledged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.components import find_postgres_bin, missing
from tests.support.postgres import PostgresServer
from tests.verify.ledger import Ledger, size
from tests.verify.support import (
    Answers,
    Cycles,
    Fault,
    Traffic,
    fleetward_server,
    seeded,
    until,
)

BATCH_SIZE = 20
REFUSED_DURING_OUTAGE = 10  # deliveries that meet the stopped server before it starts again
ACKNOWLEDGED_AFTER = 30  # ... and acknowledged after it did, before the stream ends


@contextmanager
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this check's own: the session's is shared by other tests."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        missing("PostgreSQL", "install Debian's postgresql package (make test does)")
    assert bin_dir is not None
    server = PostgresServer(bin_dir)
    try:
        server.start()
        server.execute("CREATE DATABASE fleetward")
        yield server
    finally:
        server.stop()


@dataclass
class Outages:
    """When PostgreSQL was down: from the stop's start to the end of the start."""

    spans: list[tuple[float, float]] = field(default_factory=list)

    def met(self, sent: float, answered: float) -> bool:
        return any(sent <= end and answered >= start for start, end in self.spans)


def restart_after(
    postgres: PostgresServer, acknowledgements: int, outages: Outages
) -> Callable[[Answers], Fault]:
    """The fault: stop PostgreSQL once the stream has `acknowledgements`, start it
    again once some deliveries were refused, and let some be acknowledged after."""

    def against(stream: Answers) -> Fault:
        def fault(stop: threading.Event) -> None:
            if not until(lambda: len(stream.acknowledged) >= acknowledgements, stop, "the stop"):
                return
            down = time.monotonic()
            try:
                postgres.pause()
                refused = len(stream.refused)
                until(lambda: len(stream.refused) >= refused + REFUSED_DURING_OUTAGE, stop, "503s")
            finally:
                postgres.resume()
                outages.spans.append((down, time.monotonic()))
            acknowledged = len(stream.acknowledged)
            until(
                lambda: len(stream.acknowledged) >= acknowledged + ACKNOWLEDGED_AFTER, stop, "2xx"
            )

        return fault

    return against


def just_send(acknowledgements: int) -> Callable[[Answers], Fault]:
    """No fault: the stream runs until it has `acknowledgements`."""

    def against(stream: Answers) -> Fault:
        def fault(stop: threading.Event) -> None:
            until(lambda: len(stream.acknowledged) >= acknowledgements, stop, "2xx")

        return fault

    return against


def test_postgresql_restart_during_intake_answers_503_and_loses_nothing(
    tmp_path: Path, ledger: Ledger
) -> None:
    restarts = size(1, 4)
    seed, chance = seeded()
    line = ledger.line("a PostgreSQL restart during intake")
    line.note = f"seed {seed}"
    outages = Outages()
    with (
        own_postgres() as postgres,
        fleetward_server(tmp_path, postgres.url("fleetward")) as server,
    ):
        cycles = Cycles(Traffic.prepare(server), chance, BATCH_SIZE)
        for _ in range(restarts):
            moment = chance.randint(size(10, 30), size(60, 300))
            # Fleetward is not restarted: it must find PostgreSQL again by itself.
            cycles.run(restart_after(postgres, moment, outages), recover=lambda: None)
        # And once while nothing flows: no request meets the outage, so none saw the
        # old server's connections die, and the first ones after must still land.
        postgres.pause()
        postgres.resume()
        cycles.run(just_send(ACKNOWLEDGED_AFTER), recover=lambda: None)
        lost = cycles.losses()

    everything = cycles.answers
    # A 503 is an honest answer only for a request that met the outage.
    unexcused = [
        (status, outages.met(sent, answered))
        for sent, answered, status in everything.timeline
        if status >= 500 or status == 0
    ]
    server_errors = sum(1 for status, met in unexcused if status != 503 or not met)
    line.note += f", {everything.statuses[503]} answered 503 in outages"
    line.add(
        load=everything.answered, faults=restarts + 1, losses=lost, server_errors=server_errors
    )
    assert lost == 0, f"{lost} acknowledged items missing, duplicated or changed by a replay"
    assert server_errors == 0, (everything.statuses, unexcused)
    assert cycles.refused_again == 0, f"{cycles.refused_again} resent deliveries refused again"
    assert set(everything.statuses) <= {200, 503}, everything.statuses
