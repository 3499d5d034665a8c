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

import random
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
    Delivery,
    Traffic,
    alongside,
    fleetward_server,
    from_list,
    losses,
    send,
    until,
)

SENDERS = 4
BATCH_SIZE = 20
REPLAYS = 20
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
    postgres: PostgresServer, stream: Answers, acknowledgements: int, outages: Outages
) -> Callable[[threading.Event], None]:
    def fault(stop: threading.Event) -> None:
        if not until(lambda: len(stream.acknowledged) >= acknowledgements, stop, "the stop"):
            return
        down = time.monotonic()
        try:
            postgres.pause()
            refused = len(stream.refused)
            until(lambda: len(stream.refused) >= refused + REFUSED_DURING_OUTAGE, stop, "refusals")
        finally:
            postgres.resume()
            outages.spans.append((down, time.monotonic()))
        acknowledged = len(stream.acknowledged)
        until(lambda: len(stream.acknowledged) >= acknowledged + ACKNOWLEDGED_AFTER, stop, "intake")

    return fault


def test_postgresql_restart_during_intake_answers_503_and_loses_nothing(
    tmp_path: Path, ledger: Ledger
) -> None:
    restarts = size(1, 4)
    seed = random.randrange(2**32)
    chance = random.Random(seed)
    line = ledger.line("a PostgreSQL restart during intake")
    line.note = f"seed {seed}"
    outages = Outages()
    everything = Answers()
    acknowledged: list[Delivery] = []
    replays_changed = refused_again = 0
    with (
        own_postgres() as postgres,
        fleetward_server(tmp_path, postgres.url("fleetward")) as server,
    ):
        traffic = Traffic.prepare(server)
        for _ in range(restarts):
            stream, stop = Answers(), threading.Event()
            moment = chance.randint(size(10, 30), size(60, 300))
            with alongside(restart_after(postgres, stream, moment, outages), stop):
                send(server.url, traffic.mix(BATCH_SIZE, stop), stream, SENDERS)
            resent = Answers()
            send(server.url, from_list(stream.refused), resent, SENDERS)
            replays = chance.sample(stream.acknowledged, min(REPLAYS, len(stream.acknowledged)))
            send(server.url, from_list(replays), resent, SENDERS, replay=True)
            for answers in (stream, resent):
                everything.statuses.update(answers.statuses)
                everything.timeline += answers.timeline
            acknowledged += stream.acknowledged + resent.acknowledged
            replays_changed += resent.replays_that_changed_something
            refused_again += len(resent.refused)
        stored, stray_tickets = traffic.stored()

    # A 503 is an honest answer only for a request that met the outage.
    unexcused = [
        (status, outages.met(sent, answered))
        for sent, answered, status in everything.timeline
        if status >= 500 or status == 0
    ]
    server_errors = sum(1 for status, met in unexcused if status != 503 or not met)
    lost = losses(acknowledged, stored, stray_tickets) + replays_changed
    line.note += f", {everything.statuses[503]} answered 503 in outages"
    line.add(load=everything.answered, faults=restarts, losses=lost, server_errors=server_errors)
    assert lost == 0, f"{lost} acknowledged items missing, duplicated or changed by a replay"
    assert server_errors == 0, (everything.statuses, unexcused)
    assert refused_again == 0, f"{refused_again} resent deliveries refused again"
    assert set(everything.statuses) <= {200, 503}, everything.statuses
