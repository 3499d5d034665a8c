"""The filters ticket templates may use, each with the limits of its arguments.

Every argument is a literal of the template, checked against its Param when
the template is saved: a width, count or length can never come from a
variable or from a string turned into a number. Each filter first charges the
render's budget for the characters it will read and write (`charge`), so a
chain of filters cannot do more work than the budget allows, whatever the
variables hold. Semantics follow Jinja2's filters of the same name.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Widths of center, wordwrap and indent, and the length of short literal arguments.
MAX_WIDTH = 200
MAX_INDENT = 32
MAX_SHORT_TEXT = 100
MAX_REPLACE_COUNT = 10_000
# The longest value a filter may produce; the caller cuts anything longer.
MAX_VALUE_CHARS = 65_536

# textwrap's pure-Python wrapping costs some 30 times a C-level pass over the text.
_WORDWRAP_WORK_PER_CHAR = 32
# Upper-casing may triple a string ('ΐ'.upper() is three characters).
_CASE_WORK_PER_CHAR = 3
_WORD_BEGINNING = re.compile(r"([-\s({\[<]+)")

Charge = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Param:
    """One argument: its name, default, type (str, int or bool) and bounds.

    For an int, `low..high` is the allowed range; for a str, its length range.
    """

    name: str
    kind: type
    default: object
    low: int = 0
    high: int = 0

    def problem(self, value: object) -> str | None:
        """Why `value` may not be this argument, or None if it may."""
        if type(value) is not self.kind:
            return f"must be a literal {self.kind.__name__}"
        if isinstance(value, str):
            if not self.low <= len(value) <= self.high:
                return f"must be {self.low} to {self.high} characters long"
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not self.low <= value <= self.high
        ):
            return f"must be between {self.low} and {self.high}"
        return None


@dataclass(frozen=True, slots=True)
class FilterSpec:
    params: tuple[Param, ...]
    apply: Callable[..., object]  # (charge, value, *arguments) -> value


def _text(value: object) -> str:
    # As Jinja's filters take it: `none|upper` is "NONE", `5|center(3)` is " 5 ".
    return value if isinstance(value, str) else str(value)


def _case(change: Callable[[str], str]) -> Callable[..., object]:
    def apply(charge: Charge, value: object) -> str:
        text = _text(value)
        charge(len(text) * _CASE_WORK_PER_CHAR)
        return change(text)

    return apply


def _title(text: str) -> str:
    return "".join(w[0].upper() + w[1:].lower() for w in _WORD_BEGINNING.split(text) if w)


def _trim(charge: Charge, value: object, chars: str | None) -> str:
    text = _text(value)
    charge(len(text))
    return text.strip(chars)


def _truncate(
    charge: Charge, value: object, length: int, killwords: bool, end: str, leeway: int
) -> str:
    text = _text(value)
    charge(min(len(text), length + leeway) + len(end))
    if len(text) <= length + leeway:
        return text
    keep = max(length - len(end), 0)
    if killwords:
        return text[:keep] + end
    return text[:keep].rsplit(" ", 1)[0] + end


def _replace(charge: Charge, value: object, old: str, new: str, count: int | None) -> str:
    text = _text(value)
    charge(len(text))  # counting the matches reads the text once
    matches = text.count(old)
    if count is not None:
        matches = min(matches, count)
    # Charged before the string is built: a replace that would grow past the
    # budget fails instead of allocating.
    charge(len(text) + matches * max(len(new) - len(old), 0))
    return text.replace(old, new, -1 if count is None else count)


def _default(charge: Charge, value: object, default_value: str) -> object:
    charge(len(default_value))
    return default_value if value is None or value == "" else value


def _center(charge: Charge, value: object, width: int) -> str:
    text = _text(value)
    charge(max(len(text), width))
    return text.center(width)


def _indent(charge: Charge, value: object, width: int, first: bool, blank: bool) -> str:
    text = _text(value)
    charge(len(text))
    lines = (text + "\n").splitlines()
    charge(len(text) + len(lines) * width)
    pad = " " * width
    if blank:
        indented = ("\n" + pad).join(lines)
    else:
        indented = "\n".join([lines[0], *(pad + line if line else line for line in lines[1:])])
    return pad + indented if first else indented


def _wordwrap(
    charge: Charge,
    value: object,
    width: int,
    break_long_words: bool,
    wrapstring: str,
    break_on_hyphens: bool,
) -> str:
    text = _text(value)
    charge(len(text) * _WORDWRAP_WORK_PER_CHAR)
    return wrapstring.join(
        wrapstring.join(
            textwrap.wrap(
                line,
                width=width,
                expand_tabs=False,
                replace_whitespace=False,
                break_long_words=break_long_words,
                break_on_hyphens=break_on_hyphens,
            )
        )
        for line in text.splitlines()
    )


def _length(charge: Charge, value: object) -> int:
    charge(1)
    return len(_text(value))


def _string(charge: Charge, value: object) -> str:
    text = _text(value)
    charge(len(text))
    return text


def _short(name: str, default: str | None, low: int = 0) -> Param:
    return Param(name, str, default, low, MAX_SHORT_TEXT)


_DEFAULT = FilterSpec((Param("default_value", str, "", 0, MAX_SHORT_TEXT * 10),), _default)
_LENGTH = FilterSpec((), _length)

FILTERS: dict[str, FilterSpec] = {
    "upper": FilterSpec((), _case(str.upper)),
    "lower": FilterSpec((), _case(str.lower)),
    "capitalize": FilterSpec((), _case(str.capitalize)),
    "title": FilterSpec((), _case(_title)),
    "trim": FilterSpec((_short("chars", None),), _trim),
    "truncate": FilterSpec(
        (
            Param("length", int, 255, 1, MAX_VALUE_CHARS),
            Param("killwords", bool, False),
            _short("end", "..."),
            Param("leeway", int, 5, 0, MAX_VALUE_CHARS),
        ),
        _truncate,
    ),
    "replace": FilterSpec(
        (
            _short("old", "", low=1),
            _short("new", ""),
            Param("count", int, None, 1, MAX_REPLACE_COUNT),
        ),
        _replace,
    ),
    "default": _DEFAULT,
    "d": _DEFAULT,
    "center": FilterSpec((Param("width", int, 80, 0, MAX_WIDTH),), _center),
    "indent": FilterSpec(
        (
            Param("width", int, 4, 0, MAX_INDENT),
            Param("first", bool, False),
            Param("blank", bool, False),
        ),
        _indent,
    ),
    "wordwrap": FilterSpec(
        (
            Param("width", int, 79, 10, MAX_WIDTH),
            Param("break_long_words", bool, True),
            _short("wrapstring", "\n", low=1),
            Param("break_on_hyphens", bool, True),
        ),
        _wordwrap,
    ),
    "length": _LENGTH,
    "count": _LENGTH,
    "string": FilterSpec((), _string),
}


def bind(
    name: str, spec: FilterSpec, args: list[Any], kwargs: dict[str, Any]
) -> tuple[object, ...]:
    """The filter's arguments in order, defaults filled in; ValueError saying what is wrong."""
    params = spec.params
    if len(args) > len(params):
        raise ValueError(f"filter {name} takes at most {len(params)} arguments")
    values: dict[str, object] = {p.name: p.default for p in params}
    for param, value in zip(params, args, strict=False):
        values[param.name] = value
    for key, value in kwargs.items():
        if key not in values:
            raise ValueError(f"filter {name} has no argument {key}")
        values[key] = value
    for param in params:
        if values[param.name] is None and param.default is None:
            continue  # an optional argument left out
        problem = param.problem(values[param.name])
        if problem is not None:
            raise ValueError(f"filter {name}: {param.name} {problem}")
    return tuple(values[p.name] for p in params)
