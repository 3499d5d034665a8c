"""Row ids are UUIDv7: time-ordered, so new rows share index pages (domain/ids.py)."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from fleetward.domain import ids
from fleetward.domain.ids import new_id

RANDOM_BITS = 0x3FFF_FFFF_FFFF_FFFF


def test_ids_are_version_7_and_carry_their_creation_time() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after


def test_ids_made_one_after_another_sort_in_the_order_they_were_made() -> None:
    made = [new_id() for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    # ...and as the 32-hex-digit text SQLite stores.
    assert [m.hex for m in made] == sorted(m.hex for m in made)


def test_a_clock_stepped_back_does_not_break_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    first = new_id()
    stepped_back = time.time_ns() - 3_600 * 10**9
    monkeypatch.setattr(ids.time, "time_ns", lambda: stepped_back)
    later = [new_id() for _ in range(100)]
    assert later == sorted(later)
    assert first < later[0]
    assert all(m.version == 7 for m in later)


def test_ids_keep_62_random_bits() -> None:
    made = [new_id() for _ in range(1_000)]
    low_bits = {m.int & RANDOM_BITS for m in made}
    assert len(low_bits) == len(made)


def test_a_forked_child_does_not_repeat_its_parents_random_bits() -> None:
    new_id()  # the parent now holds a pool of random bytes
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id's random bits and leave at once
        os.write(write_end, (new_id().int & RANDOM_BITS).to_bytes(8))
        os._exit(0)
    os.close(write_end)
    parents = new_id().int & RANDOM_BITS
    childs = int.from_bytes(os.read(read_end, 8))
    os.close(read_end)
    os.waitpid(pid, 0)
    assert childs != parents
