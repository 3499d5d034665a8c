"""How a list is ordered: the one shape every sortable list shares.

A list names the keys it can be sorted by; `sort=-occurred_at` in a URL or an
API query means "by occurred_at, newest first". The storage side turns a Sort
into a keyset over (key, id), so every page is as fast as the first and a row
arriving meanwhile neither repeats nor hides one (adapters/storage/listing.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from fleetward.domain.errors import InvalidInput

# The page sizes the dashboard offers; the API takes any limit up to MAX_LIMIT.
PAGE_SIZES = (25, 50, 100, 200)


@dataclass(frozen=True, slots=True)
class Sort:
    key: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.key}" if self.descending else self.key

    def toggled(self) -> Sort:
        return Sort(self.key, not self.descending)


def parse_sort(value: str | None, allowed: Collection[str], default: Sort) -> Sort:
    """`key` or `-key` for one of `allowed`; empty means `default`."""
    if not value:
        return default
    descending = value.startswith("-")
    key = value[1:] if descending else value
    if key not in allowed:
        choices = ", ".join(sorted(allowed))
        raise InvalidInput(f"sort {value[:50]!r} is not one of: {choices}", field="sort")
    return Sort(key, descending)
