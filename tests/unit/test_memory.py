"""The one memory every intake keeps: bounded, expiring, versioned, forgettable."""

from __future__ import annotations

from fleetward.services.memory import Memory


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_past_its_size_the_least_recently_used_entry_goes() -> None:
    memory: Memory[str, int] = Memory(max_entries=2, max_age=60)
    memory.put("a", 1)
    memory.put("b", 2)
    assert memory.get("a") == 1  # used: now "b" is the least recent
    memory.put("c", 3)
    assert (memory.get("a"), memory.get("b"), memory.get("c")) == (1, None, 3)
    assert len(memory) == 2


def test_an_entry_is_trusted_for_its_max_age_and_no_longer() -> None:
    clock = FakeClock()
    memory: Memory[str, str] = Memory(max_entries=10, max_age=5, clock=clock)
    memory.put("secret", "old")
    clock.now += 4.9
    assert memory.get("secret") == "old"  # reading it does not extend its life
    clock.now += 0.1
    assert memory.get("secret") is None
    assert len(memory) == 0  # an expired entry does not keep its place


def test_the_age_counts_from_when_the_value_was_read() -> None:
    clock = FakeClock()
    memory: Memory[str, str] = Memory(max_entries=10, max_age=5, clock=clock)
    read_at = memory.now()
    clock.now += 2  # a slow database read
    memory.put("secret", "old", read_at=read_at)
    clock.now += 3
    assert memory.get("secret") is None


def test_an_entry_stored_under_another_version_is_not_trusted() -> None:
    memory: Memory[str, str] = Memory(max_entries=10, max_age=60)
    memory.put("tenant", "view at 3", version=3)
    assert memory.get("tenant", version=3) == "view at 3"
    assert memory.get("tenant", version=4) is None
    assert memory.get("tenant") is None  # unversioned reads never see a versioned entry


def test_an_older_version_never_replaces_a_newer_one() -> None:
    memory: Memory[str, str] = Memory(max_entries=10, max_age=60)
    memory.put("tenant", "view at 4", version=4)
    memory.put("tenant", "view at 3", version=3)  # a slower transaction publishing late
    assert memory.get("tenant", version=4) == "view at 4"
    memory.put("tenant", "view at 5", version=5)
    assert memory.get("tenant", version=5) == "view at 5"


def test_an_expired_newer_version_gives_way() -> None:
    clock = FakeClock()
    memory: Memory[str, str] = Memory(max_entries=10, max_age=5, clock=clock)
    memory.put("tenant", "view at 4", version=4)
    clock.now += 5
    memory.put("tenant", "view at 3", version=3)
    assert memory.get("tenant", version=3) == "view at 3"


def test_forget_and_clear_invalidate_at_once() -> None:
    memory: Memory[str, int] = Memory(max_entries=10, max_age=60)
    memory.put("a", 1)
    memory.put("b", 2)
    memory.forget("a")
    memory.forget("never there")
    assert (memory.get("a"), memory.get("b")) == (None, 2)
    memory.clear()
    assert memory.get("b") is None
