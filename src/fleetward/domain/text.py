"""Text as Fleetward keeps it: no lone surrogates, no NUL, no control characters.

A lone surrogate (JSON's "\\ud800") cannot be written as UTF-8 at all, so the
database driver and every JSON answer fail on it; PostgreSQL refuses NUL in
text; other control characters rewrite terminals and break CSV and log lines.
Long text (notes, descriptions, comments) may hold tabs and line breaks,
which are kept as "\\n" (a browser sends a textarea's lines as CRLF).

People's input that breaks the rule is refused, naming the field
(`text_problem`, used by the API's Text and LongText types); what machines
send (webhooks, agents) is cleaned instead (`clean_text`, `clean_json`), so an
alert or a timeline event is never lost for one stray character.
"""

from __future__ import annotations

import re
from typing import Any

from fleetward.domain.errors import InvalidInput

REPLACEMENT = "\ufffd"

# Any Python str holding a code point from D800 to DFFF holds a lone one:
# a valid pair is decoded to one code point above FFFF.
SURROGATE = re.compile("[\ud800-\udfff]")
# Control characters (Unicode Cc: C0, DEL, C1), and lone surrogates.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_LONG_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n?")
_SPACES = re.compile("[\t\n\r]")


def text_problem(value: str, long_text: bool = False) -> str | None:
    """What is wrong with `value` as kept text, or None. Long text may hold tabs and
    line feeds (normalise CR first: `line_feeds`)."""
    bad = (_NOT_LONG_TEXT if long_text else _NOT_ONE_LINE).search(value)
    if bad is None:
        return None
    char = bad.group()
    if char == "\x00":
        return "must not contain NUL characters"
    if SURROGATE.match(char):
        return "must be valid Unicode (it holds a lone surrogate, such as \\ud800)"
    if char in "\t\n\r":
        return "must be one line, without tabs or line breaks"
    return "must not contain control characters"


def line_feeds(value: str) -> str:
    """CRLF and a lone CR as LF: how long text keeps its line breaks."""
    return _LINE_BREAKS.sub("\n", value) if "\r" in value else value


def clean_text(value: str, long_text: bool = True) -> str:
    """`value` with what text_problem() would refuse replaced: line breaks become
    LF (one-line text: tabs and line breaks become spaces), and lone surrogates,
    NUL and other control characters U+FFFD."""
    if long_text:
        value = line_feeds(value)
        return _NOT_LONG_TEXT.sub(REPLACEMENT, value)
    return _NOT_ONE_LINE.sub(REPLACEMENT, _SPACES.sub(" ", value))


def needs_cleaning(value: str, long_text: bool = True) -> bool:
    # CR is among the long-text pattern's characters: it becomes LF.
    return (_NOT_LONG_TEXT if long_text else _NOT_ONE_LINE).search(value) is not None


def sent_text(
    value: Any, field: str, max_len: int, long_text: bool = False, empty: bool = False
) -> str:
    """Text a machine sent (an agent's names, messages, data), kept rather than refused:
    what text_problem() would refuse is replaced. Only a value that is no string (or an
    empty one, unless `empty`) or longer than `max_len` is refused, naming the field."""
    if not isinstance(value, str) or (not value and not empty):
        wanted = "a string" if empty else "a non-empty string"
        raise InvalidInput(f"{field} must be {wanted}", field=field)
    text = clean_text(value, long_text) if needs_cleaning(value, long_text) else value
    if len(text) > max_len:
        raise InvalidInput(f"{field} must be at most {max_len} characters", field=field)
    return text


def clean_json(value: Any) -> Any:
    """Decoded JSON with every string (object keys too) cleaned as long text.

    Containers are changed in place and returned. Iterative, so a body nested
    as deep as the parser allows cannot exhaust Python's recursion limit.
    """
    if isinstance(value, str):
        return clean_text(value) if needs_cleaning(value) else value
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    if needs_cleaning(item):
                        node[index] = clean_text(item)
                elif isinstance(item, list | dict):
                    pending.append(item)
        elif isinstance(node, dict):
            if any(needs_cleaning(key) for key in node):
                # Two keys may clean to the same text: the later one wins, as
                # with a key sent twice.
                entries = list(node.items())
                node.clear()
                node.update((clean_text(key), item) for key, item in entries)
            for key, item in node.items():
                if isinstance(item, str):
                    if needs_cleaning(item):
                        node[key] = clean_text(item)
                elif isinstance(item, list | dict):
                    pending.append(item)
    return value
