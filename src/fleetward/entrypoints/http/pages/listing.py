"""What every list page shares beside its rows: sort links, the total, page size,
and a pager, all kept in the URL so a list can be bookmarked, shared and
refreshed without losing what the reader chose.

A page handler reads `sort`, `limit` and `cursor` with list_params(), asks its
service for the page, and hands a ListView to its template, whose header cells
and footer come from the macros in templates/_list.html.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fleetward.domain.errors import InvalidInput
from fleetward.domain.listing import PAGE_SIZES, Sort, parse_sort
from fleetward.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page


def list_params(sort: str, limit: str, allowed: Collection[str], default: Sort) -> tuple[Sort, int]:
    """The sort and page size a list's URL asks for, or InvalidInput naming the field."""
    order = parse_sort(sort, allowed, default)
    if not limit:
        return order, DEFAULT_LIMIT
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a number from 1 to {MAX_LIMIT}", field="limit")
    return order, int(limit)


# A filter's value: one, or several for a parameter that repeats (?kind=a&kind=b).
FilterValue = str | Sequence[str]


@dataclass(frozen=True)
class ListView:
    path: str
    filters: Mapping[str, FilterValue]  # the filters the reader set (empty ones left out)
    sort: Sort
    default_sort: Sort
    limit: int
    cursor: str
    page: Page[Any]
    noun: str = "items"  # "alerts": the total reads "1,204 alerts"
    # Where counting stopped, for lists too long to count whole (the total is then
    # one more than this, and reads "more than 10,000 events").
    total_cap: int | None = None

    def _params(self, **changes: FilterValue | None) -> dict[str, FilterValue]:
        params = {key: value for key, value in self.filters.items() if value}
        if self.sort != self.default_sort:
            params["sort"] = str(self.sort)
        if self.limit != DEFAULT_LIMIT:
            params["limit"] = str(self.limit)
        for key, value in changes.items():
            if value:
                params[key] = value
            else:
                params.pop(key, None)
        return params

    def url(self, **changes: FilterValue | None) -> str:
        """This list's URL with `changes` (None or "" removes a parameter)."""
        params = self._params(**changes)
        return self.path + (f"?{urlencode(params, doseq=True)}" if params else "")

    def sort_url(self, key: str, descending_first: bool = False) -> str:
        """A header's link: the other direction if sorted by it, else its first one."""
        chosen = self.sort.toggled() if self.sort.key == key else Sort(key, descending_first)
        return self.url(sort=None if chosen == self.default_sort else str(chosen), cursor=None)

    def aria_sort(self, key: str) -> str:
        if self.sort.key != key:
            return "none"
        return "descending" if self.sort.descending else "ascending"

    @property
    def here(self) -> str:
        return self.url(cursor=self.cursor or None)

    @property
    def first_url(self) -> str | None:
        return self.url(cursor=None) if self.cursor else None

    @property
    def next_url(self) -> str | None:
        return self.url(cursor=self.page.next) if self.page.next else None

    @property
    def filtered(self) -> bool:
        return any(self.filters.values())

    @property
    def page_sizes(self) -> tuple[int, ...]:
        return tuple(sorted({*PAGE_SIZES, self.limit}))

    @property
    def capped(self) -> bool:
        """Whether the total stopped counting at total_cap."""
        total = self.page.total
        return self.total_cap is not None and total is not None and total > self.total_cap

    @property
    def kept_fields(self) -> list[tuple[str, str]]:
        """Hidden fields for the page-size form, so changing it keeps the rest."""
        fields: list[tuple[str, str]] = []
        for key, value in self._params(limit=None, cursor=None).items():
            fields.extend((key, v) for v in ([value] if isinstance(value, str) else value))
        return fields
