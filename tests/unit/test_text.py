"""Kept text (domain/text.py) and machines' JSON cleaned for keeping (services/sent_json.py)."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetward.domain.text import clean_json, clean_text, needs_cleaning, text_problem
from fleetward.services.sent_json import loads_sent


@pytest.mark.parametrize(
    ("value", "long_text", "problem"),
    [
        ("plain, ünïcode and 😀", False, None),
        ("tab\tand\nline", True, None),
        ("tab\there", False, "must be one line, without tabs or line breaks"),
        ("nul\x00", True, "must not contain NUL characters"),
        ("esc\x1b[2J", True, "must not contain control characters"),
        ("del\x7f", False, "must not contain control characters"),
        ("c1\x85", True, "must not contain control characters"),
        ("half\ud83d", True, "must be valid Unicode (it holds a lone surrogate, such as \\ud800)"),
        ("\udc00", False, "must be valid Unicode (it holds a lone surrogate, such as \\ud800)"),
    ],
)
def test_text_problem_says_what_is_wrong(value: str, long_text: bool, problem: str | None) -> None:
    assert text_problem(value, long_text) == problem


def test_cleaning_replaces_what_text_may_not_hold() -> None:
    assert clean_text("a\r\nb\rc\x00d\ud800e\tf\x85") == "a\nb\nc\ufffdd\ufffde\tf\ufffd"
    assert clean_text("a\r\nb\tc\x07", long_text=False) == "a  b c\ufffd"
    body = {"k\x00": ["x\x01", {"deep": "\udfff"}], "ok": 1}
    assert clean_json(body) == {"k\ufffd": ["x\ufffd", {"deep": "\ufffd"}], "ok": 1}


def test_cleaning_walks_json_nested_as_deep_as_a_parser_allows() -> None:
    deep: list[object] = ["\x00"]
    for _ in range(5_000):
        deep = [deep]
    cleaned = clean_json(deep)
    for _ in range(5_000):
        cleaned = cleaned[0]
    assert cleaned == ["\ufffd"]


# Strings as JSON senders produce them, lone surrogates and control characters included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_sent_json_decodes_to_kept_text_that_writes_back(value: object) -> None:
    """Whatever a sender escapes, the decoded body holds only kept text, and can be
    written back as JSON (the database keeps alerts' bodies as JSON)."""
    raw = json.dumps(value).encode()  # ASCII-escaped, lone surrogates and all
    decoded = loads_sent(raw)
    orjson.dumps(decoded)  # no lone surrogate left: UTF-8 can hold it

    def strings(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [s for item in node for s in strings(item)]
        if isinstance(node, dict):
            return [s for k, v in node.items() for s in [k, *strings(v)]]
        return []

    assert not any(needs_cleaning(s) for s in strings(decoded))


def test_what_orjson_refuses_for_other_reasons_stays_refused() -> None:
    for raw in (b'[NaN, "\\ud800"]', b'["\\ud800", 1e400]', b'"\\ud800', b'\xff"\\ud800"'):
        with pytest.raises(orjson.JSONDecodeError):
            loads_sent(raw)
    assert loads_sent(b'["\\ud800", 18446744073709551616000]') == ["\ufffd", 1.8446744073709552e22]
