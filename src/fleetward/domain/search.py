"""The global search: what a query may be, and what it finds.

One box finds tickets (by number and title), alerts (by title and device),
devices, clients and agents by a case-insensitive substring. The text is the
person's, so it is bounded (at most MAX_QUERY characters) and matched
literally: `%` and `_` are not wildcards (like_pattern escapes them).
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from fleetward.domain.errors import InvalidInput
from fleetward.domain.text import text_problem

MAX_QUERY = 100
PER_KIND = 10  # hits per kind on the search page and the API's default
MAX_PER_KIND = 100  # one kind's "show all"
# Counting stops here: a count past it says "1000+" rather than scan on for an exact one.
COUNT_CAP = 1000
LIKE_ESCAPE = "\\"
_TICKET_NUMBER = re.compile(r"#?([0-9]{1,18})")


class SearchKind(enum.Enum):
    TICKETS = "tickets"
    ALERTS = "alerts"
    DEVICES = "devices"
    CLIENTS = "clients"
    AGENTS = "agents"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str  # trimmed, what is matched as a substring
    ticket_number: int | None  # "1042" or "#1042"
    exact_number: bool  # "#1042": nothing but a ticket number is meant


def parse_query(raw: str) -> SearchQuery:
    text = " ".join(raw.split())
    if not text:
        raise InvalidInput("q must not be empty", field="q")
    # NUL (which PostgreSQL refuses in text), other control characters, lone surrogates.
    if problem := text_problem(text):
        raise InvalidInput(f"q {problem}", field="q")
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"q must be at most {MAX_QUERY} characters", field="q")
    number = _TICKET_NUMBER.fullmatch(text)
    return SearchQuery(
        text,
        int(number.group(1)) if number else None,
        bool(number) and text.startswith("#"),
    )


def parse_kind(value: str) -> SearchKind | None:
    if not value:
        return None
    try:
        return SearchKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in SearchKind)
        raise InvalidInput(f"kind must be one of {allowed}", field="kind") from None


def like_pattern(text: str) -> str:
    """`%text%` with the text's own `\\`, `%` and `_` escaped (ESCAPE '\\')."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class Hit:
    """One object found: what its link says, a line of context, and its time."""

    id: uuid.UUID
    label: str
    detail: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class KindHits:
    kind: SearchKind
    items: list[Hit]
    total: int  # at most COUNT_CAP
    more: bool  # more matches than COUNT_CAP

    @property
    def total_text(self) -> str:
        return f"{self.total}+" if self.more else str(self.total)


@dataclass(frozen=True, slots=True)
class SearchResults:
    query: SearchQuery
    kinds: list[KindHits]
    # The ticket whose number the query is, when it exists.
    ticket: Hit | None


# Where the dashboard shows each kind of object.
_PATHS = {
    SearchKind.TICKETS: "/tickets/{}",
    SearchKind.ALERTS: "/alerts/{}",
    SearchKind.DEVICES: "/assets/{}",
    SearchKind.CLIENTS: "/clients/{}",
    SearchKind.AGENTS: "/agents/{}",
}


def dashboard_path(kind: SearchKind, object_id: uuid.UUID) -> str:
    return _PATHS[kind].format(object_id)
