"""kill -9 during webhook and agent-batch intake: every acknowledged item is there exactly once.

A real `fleetward serve` takes distinct webhooks (each a new alert opening its
own ticket) and agent batches (new timeline events) from a few client threads.
At a random point of the stream, after a random number of acknowledgements,
the server gets SIGKILL: no shutdown, whatever it was doing. It is started
again on the same database; everything not acknowledged (2xx) is sent again,
and so are some deliveries that were, whose replays must change nothing.
Several cycles; afterwards every acknowledged alert, ticket and event is in
the database exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from tests.support.agent_live import LiveServer
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

BATCH_SIZE = 50
ATTEMPTS_ON_THE_DEAD = 8  # deliveries sent into the killed server before the stream ends


def kill_after(server: LiveServer, acknowledgements: int) -> Callable[[Answers], Fault]:
    """The fault: SIGKILL once the stream has `acknowledgements`, then let a few
    deliveries meet the dead server."""

    def against(stream: Answers) -> Fault:
        def fault(stop: threading.Event) -> None:
            if not until(lambda: len(stream.acknowledged) >= acknowledgements, stop, "the kill"):
                return
            server.kill()
            refused = len(stream.refused)
            until(lambda: len(stream.refused) >= refused + ATTEMPTS_ON_THE_DEAD, stop, "attempts")

        return fault

    return against


def test_kill_9_during_intake_loses_and_duplicates_nothing(tmp_path: Path, ledger: Ledger) -> None:
    kills = size(1, 8)
    seed, chance = seeded()
    line = ledger.line("kill -9 during intake")
    line.note = f"seed {seed}"
    with fleetward_server(tmp_path) as server:
        cycles = Cycles(Traffic.prepare(server), chance, BATCH_SIZE)
        for _ in range(kills):
            moment = chance.randint(size(20, 50), size(150, 600))
            cycles.run(kill_after(server, moment), recover=server.start)
        lost = cycles.losses()

    everything = cycles.answers
    line.add(
        load=everything.answered,
        faults=kills,
        losses=lost,
        server_errors=everything.server_errors(),
    )
    assert lost == 0, f"{lost} acknowledged items missing, duplicated or changed by a replay"
    assert everything.server_errors() == 0, everything.statuses
    assert cycles.refused_again == 0, f"{cycles.refused_again} resent deliveries refused again"
    assert set(everything.statuses) <= {0, 200}, everything.statuses  # 0: the server was dead
