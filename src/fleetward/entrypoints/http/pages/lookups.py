"""What the alert-pipeline pages share: option lists, ids and times from forms.

Separate from common.py, which is the whole dashboard's: these helpers only
matter to the pages about alerts, tickets, rules, windows and integrations.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request

from fleetward.bootstrap import Container
from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Principal
from fleetward.domain.integrations import Integration
from fleetward.domain.maintenance import zone
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.domain.tenancy import CLIENT_PAGE_SORT, Client, User

# Offered in time zone selects and datalists; any other IANA name may be typed.
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Amsterdam",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Helsinki",
    "Europe/Athens",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Sao_Paulo",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)

# What <input type="datetime-local"> sends (seconds only when step allows them).
_LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def by_name(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: (item.name.casefold(), str(item.id)))


def clients(c: Container, who: Principal) -> list[Client]:
    """The tenant's clients for a select, by name (the first MAX_LIMIT of them)."""
    return by_name(c.clients.list_clients(who, MAX_LIMIT, None, CLIENT_PAGE_SORT).items)


def integrations(c: Container, who: Principal) -> list[Integration]:
    return by_name(c.integrations.page(who, MAX_LIMIT, None).items)


def users(c: Container, who: Principal) -> list[User]:
    """Users for assignee selects and author names."""
    found = c.identity.colleagues(who, MAX_LIMIT)
    return sorted(found, key=lambda u: (u.display_name or u.email).casefold())


def names(items: list[Any]) -> dict[uuid.UUID, str]:
    return {item.id: item.name for item in items}


def optional_id(value: str | None, field: str) -> uuid.UUID | None:
    """An id from a select or query: empty is none, anything else must be a UUID."""
    if value is None or not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise InvalidInput(f"{field} is not an id", field=field) from None


def local_to_utc(
    value: str, zone_name: str, field: str, zone_field: str = "timezone"
) -> datetime | None:
    """A datetime-local value read on the wall clock of `zone_name`, as UTC."""
    text = value.strip()
    if not text:
        return None
    tz = zone(zone_name, zone_field)
    for fmt in _LOCAL_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)  # naive: the zone is attached next
        except ValueError:
            continue
        try:
            instant = naive.replace(tzinfo=tz).astimezone(UTC)
            # Room on both sides, as the API keeps: comparing on any zone's clock must not
            # overflow later.
            instant + timedelta(days=2)
            instant - timedelta(days=2)
            return instant
        except OverflowError:  # near year 1 or 9999
            break
    raise InvalidInput(f"{field}: {value!r} is not a date and time", field=field)


def utc_to_local(value: datetime | None, zone_name: str = "UTC") -> str:
    """The value a datetime-local input shows for an instant, on `zone_name`'s clock."""
    if value is None:
        return ""
    return value.astimezone(zone(zone_name, "timezone")).strftime("%Y-%m-%dT%H:%M")


def webhook_url(request: Request, c: Container, integration_id: uuid.UUID) -> str:
    """The configured public URL if there is one, else the address this page was asked at.

    The API falls back on host:port, which behind a proxy or on another port is
    not where the sender can reach; the browser's own address usually is.
    """
    base = c.settings.base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/api/v1/webhooks/{integration_id}"


def split_list(value: str) -> list[str]:
    """Comma-separated labels, trimmed, empty ones and repeats dropped, order kept."""
    return list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def printable(value: str, field: str) -> str:
    """Form text as the API accepts it: no control characters (NUL breaks PostgreSQL)."""
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise InvalidInput(f"{field} must not contain control characters", field=field)
    return value


def reason(exc: InvalidInput) -> str:
    """Shown next to its field, so the field's name in front of the message is dropped."""
    return exc.message.removeprefix(f"{exc.field}: ") if exc.field else exc.message


class FieldErrors(dict[str, str]):
    """A form's errors by input name, so one save can report every bad field at once."""

    def check(self, name: str, parse: Any, *args: Any) -> Any:
        """parse(*args), or None with the reason kept under `name` (the first one wins)."""
        try:
            return parse(*args)
        except InvalidInput as exc:
            self.setdefault(name, reason(exc))
            return None


def short_field(field: str | None) -> str:
    """The form input an error belongs to: `conditions.message_pattern` -> `message_pattern`."""
    return (field or "").rpartition(".")[2]


# Trace keys shown in their own place; any other key is listed as it is.
_KNOWN = frozenset(
    {
        "client_id",
        "client",
        "windows",
        "rules",
        "ticket",
        "dedup",
        "ticket_id",
        "template_errors",
        "outbound",  # the alert page lists the provider calls on their own
    }
)


@dataclass
class TraceView:
    """The trace in the order the pipeline decided, with ids turned into names."""

    client: str
    windows: list[dict[str, str]] = field(default_factory=list)
    rules: list[dict[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    template_errors: list[str] = field(default_factory=list)
    has_windows: bool = False
    has_rules: bool = False


def trace_view(trace: dict[str, Any], client_names: dict[uuid.UUID, str]) -> TraceView:
    try:
        client_id = optional_id(str(trace.get("client_id") or ""), "client_id")
    except InvalidInput:  # a trace is stored text: show it, never fail on it
        client_id = None
    if client_id is not None:
        client = f"resolved to {client_names.get(client_id, f'client {client_id} (deleted)')}"
    else:
        client = str(trace.get("client") or "no client")
    view = TraceView(client)
    view.has_windows = "windows" in trace
    view.has_rules = "rules" in trace
    if isinstance(trace.get("windows"), list):
        view.windows = [w for w in trace["windows"] if isinstance(w, dict)]
    if isinstance(trace.get("rules"), list):
        view.rules = [r for r in trace["rules"] if isinstance(r, dict)]
    elif "rules" in trace:
        view.notes.append(("Rules", str(trace["rules"])))
    if "dedup" in trace:
        view.notes.append(("Dedup", str(trace["dedup"])))
    if "ticket" in trace:
        view.notes.append(("Ticket", str(trace["ticket"])))
    for key, value in trace.items():
        if key not in _KNOWN:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            view.notes.append((key.replace("_", " ").capitalize(), text))
    view.template_errors = [str(e) for e in trace.get("template_errors") or ()]
    return view
