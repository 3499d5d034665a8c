from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetward.domain.errors import InvalidInput
from fleetward.domain.pagination import MAX_LIMIT, clamp_limit, decode_cursor, encode_cursor

keys = st.lists(st.one_of(st.text(max_size=40), st.integers()), min_size=1, max_size=3)


@given(keys)
def test_cursor_round_trips(key: list[str | int]) -> None:
    assert decode_cursor(encode_cursor(*key), len(key)) == key


@pytest.mark.parametrize("garbage", ["", "!!!", "bm90IGpzb24", encode_cursor("a"), "W3RydWVd"])
def test_foreign_cursor_is_invalid_input_naming_the_field(garbage: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(garbage, 2)
    assert caught.value.field == "cursor"


def test_limit_defaults_and_bounds() -> None:
    assert clamp_limit(None) == 50
    assert clamp_limit(MAX_LIMIT) == MAX_LIMIT
    for bad in (0, -1, MAX_LIMIT + 1):
        with pytest.raises(InvalidInput):
            clamp_limit(bad)
