"""The timeline's memory of committed batches: per agent, bounded, forgettable."""

from __future__ import annotations

import uuid

from fleetward.services.timeline import CommittedBatches, batch_digest


def test_a_batch_is_known_only_to_the_agent_that_sent_it() -> None:
    memory = CommittedBatches()
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    digest = batch_digest(b'{"events": []}', "")
    memory.remember(mine, digest, 7)
    assert memory.events_in(mine, digest) == 7
    assert memory.events_in(theirs, digest) is None


def test_the_encoding_is_part_of_what_a_body_is() -> None:
    body = b"\x1f\x8b..."
    assert batch_digest(body, "gzip") != batch_digest(body, "")
    assert batch_digest(body, "gzip") == batch_digest(body, "gzip")


def test_the_oldest_batches_go_first_and_forget_clears_all() -> None:
    memory = CommittedBatches(size=2)
    agent = uuid.uuid4()
    digests = [batch_digest(str(i).encode(), "") for i in range(3)]
    for i, digest in enumerate(digests):
        memory.remember(agent, digest, i)
    assert [memory.events_in(agent, d) for d in digests] == [None, 1, 2]
    memory.forget()
    assert [memory.events_in(agent, d) for d in digests] == [None, None, None]
