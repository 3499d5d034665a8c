"""Tickets and the work on them: comments and time entries.

Operators and admins write tickets; their settings (boards, statuses,
priorities) are in services/boards.py. Every write takes the tenant lock
first: ticket numbers come from it, and the alert pipeline takes it before it
touches a ticket, so a person closing a ticket and an alert re-triggering it
queue up instead of deadlocking on each other's rows.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from fleetward.domain.audit import AuditEntry, snapshot
from fleetward.domain.errors import Conflict, InvalidInput, NotFound
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.domain.tickets import (
    TICKET_DEFAULT_SORT,
    Comment,
    StatusKind,
    Ticket,
    TicketStatus,
    TimeEntry,
)
from fleetward.services import events
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.flapping import flapping_keys
from fleetward.services.ports import Clock, Repositories, UnitOfWork
from fleetward.services.provider_outbound import enqueue_resets
from fleetward.services.resources import ScopedResource
from fleetward.services.ticket_defaults import ensure_defaults

T = TypeVar("T")

TITLE_MAX = 500  # the column's size
DESCRIPTION_MAX = 10_000  # as the API's long text
MINUTES_RANGE = (1, 1440)  # one time entry is at most a day
HISTORY_MAX = 200  # a ticket's history entries shown on its page


def ticket_title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise InvalidInput("title must not be empty", field="title")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"title must be at most {TITLE_MAX} characters", field="title")
    return title


def ticket_description(value: str) -> str:
    if len(value) > DESCRIPTION_MAX:
        raise InvalidInput(
            f"description must be at most {DESCRIPTION_MAX} characters", field="description"
        )
    return value


def present(found: T | None, object_type: str, object_id: uuid.UUID) -> T:
    """Checked before the write began; missing now only if deleted in between."""
    if found is None:
        raise NotFound(f"{object_type} {object_id} not found")
    return found


_ROWS = {
    "board": "boards",
    "ticket_status": "statuses",
    "priority": "priorities",
    "ticket": "tickets",
}


def _column(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


class WritingService:
    """Writes under the tenant lock, with an audit entry for each change."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    @contextmanager
    def _writing(self, principal: Principal, access: Access) -> Iterator[Any]:
        principal.require(access)
        with self.uow.write() as repos:
            repos_: Any = repos
            repos_.tenants.lock(principal.tenant_id)
            yield repos_

    def _audit(
        self,
        repos: Repositories,
        principal: Principal,
        action: str,
        obj: Any,
        before: Any = None,
        after: Any = None,
    ) -> None:
        record(
            repos,
            self.clock,
            principal.tenant_id,
            actor_of(principal),
            action,
            action.partition(".")[0],
            obj.id,
            before=None if before is None else snapshot(before),
            after=None if after is None else snapshot(after),
        )

    def _apply(
        self,
        repos: Repositories,
        principal: Principal,
        object_type: str,
        before: T,
        changes: dict[str, Any],
        action: str = "update",
    ) -> T:
        """Write what actually changed, audit it, and return the object as it is now."""
        after = dataclasses.replace(before, **changes)  # type: ignore[type-var]
        if after == before:
            return before
        if hasattr(after, "updated_at"):
            changes = {**changes, "updated_at": self.clock()}
            after = dataclasses.replace(after, updated_at=changes["updated_at"])  # type: ignore[type-var]
        rows = getattr(repos, _ROWS[object_type])
        values = {k: _column(v) for k, v in changes.items()}
        rows.update(principal.tenant_id, after.id, **values)  # type: ignore[attr-defined]
        self._audit(repos, principal, f"{object_type}.{action}", after, before, after)
        return after


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket with the alerts linked to it, as the API shows it."""

    ticket: Ticket
    alert_ids: tuple[uuid.UUID, ...]
    flapping: bool = False  # open, and its alert condition is flapping (domain/flapping.py)


# Ids a ticket body may name, and where they must exist in the caller's tenant.
_REFERENCES = {"client_id": "clients", "priority_id": "priorities", "assignee_id": "users"}


class TicketService(WritingService):
    """Tickets, opened by hand here or by the alert pipeline, and the work done on them."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        probes: CrossTenantProbes,
        pipeline: AlertPipeline,
        base_url: str = "",
    ) -> None:
        super().__init__(uow, clock)
        self.pipeline = pipeline
        self.base_url = base_url  # for the ticket's link a provider reset carries
        self.tickets = ScopedResource[Ticket](uow, clock, probes, "ticket", lambda r: r.tickets)
        self.comments = ScopedResource[Comment](
            uow, clock, probes, "ticket_comment", lambda r: r.comments
        )
        self.time_entries = ScopedResource[TimeEntry](
            uow, clock, probes, "time_entry", lambda r: r.time_entries
        )

    def _view(self, repos: Repositories, tickets: list[Ticket]) -> list[TicketView]:
        tenant_id = tickets[0].tenant_id
        ids = repos.tickets.alert_ids(tenant_id, [t.id for t in tickets])
        keys = [t.dedup_key for t in tickets if t.dedup_key is not None and not t.is_closed]
        flapping = flapping_keys(repos, tenant_id, keys, self.clock())
        return [TicketView(t, tuple(ids[t.id]), t.dedup_key in flapping) for t in tickets]

    def _check_references(
        self, repos: Repositories, tenant_id: uuid.UUID, refs: dict[str, Any]
    ) -> None:
        """Each id named in a body must be the caller's own: 422 naming the field."""
        for field, value in refs.items():
            if value is None:
                continue
            found = getattr(repos, _REFERENCES[field]).get(tenant_id, value)
            noun = field.removesuffix("_id").replace("assignee", "user")
            if found is None:
                raise InvalidInput(f"{field} names no {noun} of yours", field=field)
            if getattr(found, "disabled", False):
                raise InvalidInput(f"{field} names a disabled user", field=field)

    def search(
        self,
        principal: Principal,
        limit: int | None,
        cursor: str | None,
        sort: Sort = TICKET_DEFAULT_SORT,
        unassigned: bool = False,
        **where: Any,
    ) -> Page[TicketView]:
        """In `sort` order (newest first by default), with the total the filters admit;
        `where` holds exact filters (status_id, is_closed, ...), `unassigned` asks for
        tickets nobody holds."""
        principal.require(Access.READ)
        with self.uow.read() as repos:
            page = repos.tickets.search(
                principal.tenant_id,
                clamp_limit(limit),
                cursor,
                sort,
                count=True,
                unassigned=unassigned,
                **where,
            )
            items = self._view(repos, page.items) if page.items else []
            return Page(items, page.next, page.total)

    def count(self, principal: Principal, **where: Any) -> int:
        """How many tickets meet `where` (exact filters, as search takes them)."""
        principal.require(Access.READ)
        with self.uow.read() as repos:
            return repos.tickets.count(principal.tenant_id, **where)

    def get(self, principal: Principal, ticket_id: uuid.UUID) -> TicketView:
        ticket = self.tickets.get(principal, ticket_id)
        with self.uow.read() as repos:
            return self._view(repos, [ticket])[0]

    def create(
        self,
        principal: Principal,
        title: str,
        description: str = "",
        board_id: uuid.UUID | None = None,
        client_id: uuid.UUID | None = None,
        priority_id: uuid.UUID | None = None,
        assignee_id: uuid.UUID | None = None,
    ) -> TicketView:
        """A ticket opened by hand: no dedup key, so alerts never merge into it."""
        clean_title = ticket_title(title)
        with self._writing(principal, Access.WRITE) as repos:
            tenant_id = principal.tenant_id
            if board_id is None:
                board = ensure_defaults(repos, tenant_id, self.clock)
            elif (board := repos.boards.get(tenant_id, board_id)) is None:
                raise InvalidInput("board_id names no board of yours", field="board_id")
            open_statuses = [
                s for s in repos.statuses.of_board(tenant_id, board.id) if s.kind is StatusKind.OPEN
            ]
            status = next((s for s in open_statuses if s.id == board.default_status_id), None)
            status = status or (open_statuses[0] if open_statuses else None)
            if status is None:
                raise InvalidInput("board_id names a board without an open status", "board_id")
            refs = {"client_id": client_id, "priority_id": priority_id, "assignee_id": assignee_id}
            self._check_references(repos, tenant_id, refs)
            now = self.clock()
            ticket = Ticket(
                id=new_id(),
                tenant_id=tenant_id,
                number=repos.tickets.next_number(tenant_id),  # safe: we hold the tenant lock
                board_id=board.id,
                status_id=status.id,
                priority_id=priority_id,
                assignee_id=assignee_id,
                client_id=client_id,
                title=clean_title,
                description=description,
                dedup_key=None,
                occurrence_count=0,  # counts alert occurrences; none opened this one
                is_closed=False,
                created_at=now,
                updated_at=now,
                closed_at=None,
            )
            repos.tickets.insert(ticket)
            self._audit(repos, principal, "ticket.create", ticket, after=ticket)
            events.ticket_changed(repos, None, ticket, now)
        return TicketView(ticket, ())

    def update(
        self, principal: Principal, ticket_id: uuid.UUID, changes: dict[str, Any]
    ) -> TicketView:
        """Change fields; a move to a closed-kind status closes, to an open one reopens.

        `changes` holds only the fields the caller sent; priority_id and
        assignee_id may be None (cleared), the others may not.
        """
        for field in ("title", "description", "status_id"):
            if field in changes and changes[field] is None:
                raise InvalidInput(f"{field} must not be null", field=field)
        principal.require(Access.WRITE)
        self.tickets.get(principal, ticket_id)
        with self._writing(principal, Access.WRITE) as repos:
            tenant_id, now = principal.tenant_id, self.clock()
            before = present(repos.tickets.get(tenant_id, ticket_id), "ticket", ticket_id)
            values: dict[str, Any] = {}
            if "title" in changes:
                values["title"] = ticket_title(changes["title"])
            if "description" in changes:
                values["description"] = ticket_description(changes["description"])
            refs: dict[str, Any] = {
                k: changes[k] for k in ("priority_id", "assignee_id") if k in changes
            }
            self._check_references(repos, tenant_id, refs)
            values.update(refs)
            status: TicketStatus | None = None
            if "status_id" in changes:
                status = repos.statuses.get(
                    tenant_id, changes["status_id"], board_id=before.board_id
                )
                if status is None:
                    raise InvalidInput(
                        "status_id names no status of this ticket's board", field="status_id"
                    )
                values.update(self._status_values(repos, before, status, now))
            is_closed = values.get("is_closed", before.is_closed)
            action = "update"
            if is_closed != before.is_closed:
                action = "close" if is_closed else "reopen"
            after = self._apply(repos, principal, "ticket", before, values, action)
            if status is not None and after.is_closed != before.is_closed:
                self._closed_or_reopened(repos, principal, after, status, now)
            events.ticket_changed(repos, before, after, now)
            return self._view(repos, [after])[0]

    def _status_values(
        self, repos: Repositories, ticket: Ticket, status: TicketStatus, now: datetime
    ) -> dict[str, Any]:
        closing = status.kind is StatusKind.CLOSED
        # A person chose this status: a ticket they close is theirs (never reopened by
        # a trigger, domain/flapping.py), and one they reopen is no longer auto-closed.
        values: dict[str, Any] = {
            "status_id": status.id,
            "is_closed": closing,
            "auto_closed": False,
        }
        if closing and not ticket.is_closed:
            values["closed_at"] = now
        elif not closing and ticket.is_closed:
            # One open ticket per alert condition: reopening must not make a second.
            key = ticket.dedup_key
            other = repos.tickets.open_by_key(ticket.tenant_id, key) if key else None
            if other is not None:
                raise Conflict(
                    f"ticket #{other.number} is open for the same alert condition: "
                    "work on that one, or close it before reopening this",
                    field="status_id",
                )
            values["closed_at"] = None
        return values

    def _closed_or_reopened(
        self,
        repos: Repositories,
        principal: Principal,
        ticket: Ticket,
        status: TicketStatus,
        now: datetime,
    ) -> None:
        if ticket.is_closed:
            active = repos.alerts.count_open_on_ticket(ticket.id, [])
            # Resolves the linked alerts in this transaction, and enqueues their reset at
            # the provider with it: the call runs after the commit (provider_outbound.py),
            # so a provider that is down never holds up or fails the close.
            resolved = self.pipeline.ticket_closed(repos, ticket, now)
            enqueue_resets(repos, resolved, ticket, self.base_url, now)
            body = f"Closed by {principal.label}: status {status.name}."
            if active:
                body += f" {active} active alert(s) resolved."
        else:
            body = f"Reopened by {principal.label}: status {status.name}."
        repos.comments.insert(
            Comment(new_id(), ticket.tenant_id, ticket.id, "system", None, body, now)
        )

    def history(self, principal: Principal, ticket_id: uuid.UUID) -> list[AuditEntry]:
        """What people changed on the ticket (opened, fields, status, assignee, close,
        reopen), oldest first: its own audit entries, each with who, when and the
        fields before and after. The newest HISTORY_MAX when there are more."""
        self.tickets.get(principal, ticket_id)
        with self.uow.read() as repos:
            return repos.audit.of_object(principal.tenant_id, "ticket", str(ticket_id), HISTORY_MAX)

    # Comments and time entries: work on a ticket, which makes it "touched"

    def list_comments(
        self, principal: Principal, ticket_id: uuid.UUID, limit: int | None, cursor: str | None
    ) -> Page[Comment]:
        """Oldest first: a conversation reads top to bottom."""
        self.tickets.get(principal, ticket_id)
        return self.comments.page(principal, limit, cursor, ticket_id=ticket_id)

    def add_comment(self, principal: Principal, ticket_id: uuid.UUID, body: str) -> Comment:
        if not body.strip():
            raise InvalidInput("body must not be empty", field="body")
        comment = Comment(
            new_id(),
            principal.tenant_id,
            ticket_id,
            "user",
            principal.user_id,
            body,
            self.clock(),
        )
        return self._add_work(principal, ticket_id, "ticket_comment", comment)

    def list_time_entries(
        self, principal: Principal, ticket_id: uuid.UUID, limit: int | None, cursor: str | None
    ) -> Page[TimeEntry]:
        self.tickets.get(principal, ticket_id)
        return self.time_entries.page(principal, limit, cursor, ticket_id=ticket_id)

    def add_time_entry(
        self, principal: Principal, ticket_id: uuid.UUID, minutes: int, note: str = ""
    ) -> TimeEntry:
        low, high = MINUTES_RANGE
        if not low <= minutes <= high:
            raise InvalidInput(f"minutes must be from {low} to {high}", field="minutes")
        entry = TimeEntry(
            new_id(),
            principal.tenant_id,
            ticket_id,
            principal.user_id,
            minutes,
            note,
            self.clock(),
        )
        return self._add_work(principal, ticket_id, "time_entry", entry)

    def _add_work(self, principal: Principal, ticket_id: uuid.UUID, kind: str, work: T) -> T:
        principal.require(Access.WRITE)
        self.tickets.get(principal, ticket_id)
        with self._writing(principal, Access.WRITE) as repos:
            present(repos.tickets.get(principal.tenant_id, ticket_id), "ticket", ticket_id)
            rows = repos.comments if kind == "ticket_comment" else repos.time_entries
            rows.insert(work)
            repos.tickets.update(principal.tenant_id, ticket_id, updated_at=self.clock())
            self._audit(repos, principal, f"{kind}.create", work, after=work)
        return work
