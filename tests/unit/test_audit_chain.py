from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from fleetward.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    changed_fields,
    entry_hash,
    verify_chain,
)

TENANT = uuid.uuid4()
START = datetime(2026, 1, 1, tzinfo=UTC)


def _chain(n: int) -> list[tuple[AuditEntry, str]]:
    chain: list[tuple[AuditEntry, str]] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        entry = AuditEntry(
            TENANT,
            i,
            START + timedelta(seconds=i),
            "user",
            uuid.uuid4(),
            "a@b.test",
            "client.update",
            "client",
            str(uuid.uuid4()),
            {"name": f"old {i}"},
            {"name": f"new {i}"},
            prev,
        )
        prev = entry_hash(entry)
        chain.append((entry, prev))
    return chain


def test_intact_chain_verifies() -> None:
    assert verify_chain(_chain(5)) is None


def test_edited_entry_is_named_by_position() -> None:
    chain = _chain(5)
    entry, digest = chain[2]
    chain[2] = (dataclasses.replace(entry, after={"name": "forged"}), digest)
    assert verify_chain(chain) == 3


def test_removed_entry_breaks_the_next_link() -> None:
    chain = _chain(5)
    del chain[1]
    assert verify_chain(chain) == 3


def test_hash_is_stable_for_equal_content() -> None:
    entry, digest = _chain(1)[0]
    assert entry_hash(dataclasses.replace(entry)) == digest


def test_update_records_only_what_changed() -> None:
    before = {"name": "A", "notes": "same", "gone": 1}
    after = {"name": "B", "notes": "same"}
    assert changed_fields(before, after) == ({"gone": 1, "name": "A"}, {"gone": None, "name": "B"})
    assert changed_fields(None, after) == (None, after)
