"""Reading untrusted JSON: every wrong shape becomes a PayloadError naming the field.

Normalisers get whatever the sender's JSON decoded to, so nothing here may
assume a type: each accessor checks it and says which field was wrong.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from fleetward.domain.errors import PayloadError

# Digits only in ASCII: str.isdigit() and \d also accept other scripts' digits.
_EPOCH = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
# fromisoformat() takes a bare date too; an alert time must have a time of day.
_HAS_TIME = re.compile(r"[0-9][Tt ][0-9]")


def require_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"expected a JSON object in '{field}'", field)
    return value


class Fields:
    """One JSON object and its path, for messages such as "missing field 'device.id'"."""

    __slots__ = ("data", "path")

    def __init__(self, value: Any, path: str = "") -> None:
        self.data = require_object(value, path or "body")
        self.path = path

    def name(self, key: str) -> str:
        if not key:
            # An empty key is valid JSON; the error must still name something.
            return f'{self.path or "body"}[""]'
        return f"{self.path}.{key}" if self.path else key

    def missing(self, key: str) -> PayloadError:
        return PayloadError(f"missing field '{self.name(key)}'", self.name(key))

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def obj(self, key: str) -> Fields | None:
        value = self.data.get(key)
        return None if value is None else Fields(value, self.name(key))

    def text(self, key: str) -> str | None:
        """A string; absent, null and blank all read as None."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise PayloadError(f"expected a string in '{self.name(key)}'", self.name(key))
        return value if value.strip() else None

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self.missing(key)
        return value

    def ident(self, key: str) -> str | None:
        """An identifier as a string: vendors send ids as strings or integers."""
        value = self.data.get(key)
        if value is None:
            return None
        # bool is an int in Python, but `true` is never an id.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            return value.strip() or None
        raise PayloadError(f"expected a string or integer id in '{self.name(key)}'", self.name(key))

    def scalar(self, key: str) -> str | None:
        """A string, or a number as its text: template senders quote values or not."""
        value = self.data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise PayloadError(f"expected a string in '{self.name(key)}'", self.name(key))
            return str(value)
        text = self.text(key)
        return None if text is None else text.strip()

    def required_ident(self, key: str) -> str:
        value = self.ident(key)
        if value is None:
            raise self.missing(key)
        return value


def _from_epoch(seconds: float, field: str) -> datetime:
    try:
        if not math.isfinite(seconds):
            raise ValueError
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError(f"time out of range in '{field}'", field) from None


def parse_time(value: Any, field: str, *, epoch: bool, naive_is_utc: bool) -> datetime:
    """An instant as a timezone-aware UTC datetime.

    epoch: also accept seconds since 1970 (a number, or a number in a string).
    naive_is_utc: read an ISO time without offset as UTC (vendors that store
        UTC and print it bare) instead of rejecting it.
    """
    wanted = "a number or ISO time" if epoch else "an ISO 8601 time"
    if epoch and isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value), field)
    if not isinstance(value, str):
        raise PayloadError(f"expected {wanted} in '{field}'", field)
    text = value.strip()
    if epoch and _EPOCH.fullmatch(text):
        return _from_epoch(float(text), field)
    if not _HAS_TIME.search(text):
        raise PayloadError(f"expected {wanted} in '{field}'", field)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"expected {wanted} in '{field}'", field) from None
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise PayloadError(f"expected an ISO 8601 time with a UTC offset in '{field}'", field)
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        # 0001-01-01T00:00:00+01:00 is a valid string but before year 1 in UTC.
        raise PayloadError(f"time out of range in '{field}'", field) from None


def iso(at: datetime) -> str:
    """The canonical text of an instant, for ids built from times."""
    return at.astimezone(UTC).isoformat()
