"""Who is who on the tickets pages, and a ticket's history on its page: its audit
entries (TicketService.history reads them back, tenant-scoped) told as lines a
person reads, with who and when."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleetward.bootstrap import Container
from fleetward.domain.audit import AuditEntry
from fleetward.domain.identity import Principal
from fleetward.entrypoints.http.pages import lookups

# Fields every change touches, or that follow from one the history tells already.
_QUIET = frozenset({"updated_at", "closed_at", "is_closed", "auto_closed", "occurrence_count"})
_VERBS = {
    "ticket.create": "opened the ticket",
    "ticket.close": "closed the ticket",
    "ticket.reopen": "reopened the ticket",
}


@dataclass(frozen=True, slots=True)
class HistoryLine:
    at: datetime
    who: str
    what: list[str]


def history_lines(
    entries: list[AuditEntry],
    status_names: dict[uuid.UUID, str],
    priority_names: dict[uuid.UUID, str],
    user_names: dict[uuid.UUID, str],
) -> list[HistoryLine]:
    """Each audit entry of a ticket as a line a person reads: who, when, what changed."""

    def named(names: dict[uuid.UUID, str], removed: str, value: Any) -> str:
        if value is None:
            return "none"
        try:
            return names.get(uuid.UUID(str(value)), removed)
        except ValueError:
            return removed

    def change(field: str, old: Any, new: Any) -> str | None:
        if field in _QUIET:
            return None
        if field == "status_id":
            status = (status_names, "a removed status")
            return f"status {named(*status, old)} → {named(*status, new)}"
        if field == "assignee_id":
            if new is None:
                return f"unassigned it from {named(user_names, 'a former user', old)}"
            return f"assigned it to {named(user_names, 'a former user', new)}"
        if field == "priority_id":
            priority = (priority_names, "a removed priority")
            return f"priority {named(*priority, old)} → {named(*priority, new)}"
        if field == "title":
            return f"title “{old}” → “{new}”"
        if field == "description":
            return "edited the description"
        return f"changed {field.removesuffix('_id').replace('_', ' ')}"

    lines = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        what = [_VERBS[entry.action]] if entry.action in _VERBS else []
        if entry.action == "ticket.create":
            if after.get("assignee_id"):
                what.append(change("assignee_id", None, after["assignee_id"]) or "")
        else:
            for field in sorted(after.keys() | before.keys()):
                said = change(field, before.get(field), after.get(field))
                if said:
                    what.append(said)
        who = user_names.get(entry.actor_id, entry.actor_label) if entry.actor_id else ""
        lines.append(HistoryLine(entry.at, who or entry.actor_label, what or ["changed it"]))
    return lines


def assignee_names(c: Container, who: Principal) -> dict[uuid.UUID, str]:
    """Names for the tickets list's assignee column (the reader's own as "you")."""
    names = {u.id: u.display_name or u.email for u in lookups.users(c, who)}
    names[who.user_id] = "you"
    return names
