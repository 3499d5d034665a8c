"""Flap protection in the pipeline: reopen a ticket a reset closed, count each
key's triggers, tell people once when a key starts flapping, and keep a
flapping key's ticket open on reset. The rules are domain/flapping.py; the
trigger (ingest_alerts.py) and reset (lifecycle.py) paths call in here, each
from one place, in their own transaction and under the tenant lock.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fleetward.domain.flapping import (
    count_trigger,
    flapping_comment,
    held_open_comment,
    is_flapping,
    may_reopen,
    reopen_comment,
    settings_from,
)
from fleetward.domain.ids import new_id
from fleetward.domain.rules import AlertRule
from fleetward.domain.tickets import Comment, StatusKind, Ticket
from fleetward.services import events
from fleetward.services.notifications import notify
from fleetward.services.ports import Repositories
from fleetward.services.tenant_config import TenantView

FLAPPING_NOTIFICATION = "alert.flapping"


def _comment(repos: Repositories, ticket: Ticket, body: str, now: datetime) -> None:
    repos.comments.insert(Comment(new_id(), ticket.tenant_id, ticket.id, "system", None, body, now))


class FlapProtection:
    """What a trigger and a reset do about a key that keeps coming back."""

    def reopen(
        self,
        repos: Repositories,
        view: TenantView,
        last: Ticket | None,
        now: datetime,
        trace: dict[str, Any],
    ) -> Ticket | None:
        """`last`, the key's most recently closed ticket (if any), reopened if a reset
        closed it within the reopen window; else None.

        Called with the tenant lock held and no open ticket under the key, so
        reopening cannot make a second open ticket (uq_ticket_open_dedup_key).
        """
        if last is None:
            return None
        settings = view.flap_settings(repos)
        if not may_reopen(last.auto_closed, last.closed_at, now, settings):
            return None
        tenant_id = last.tenant_id
        status_id = self._open_status(repos, view, last)
        if status_id is None:  # the board lost its open statuses: a new ticket says more
            return None
        repos.tickets.update(
            tenant_id,
            last.id,
            status_id=status_id,
            is_closed=False,
            closed_at=None,
            auto_closed=False,
            updated_at=now,
        )
        count = repos.tickets.bump_occurrence(last.id, now)
        _comment(repos, last, reopen_comment(count), now)
        trace["dedup"] = (
            f"ticket #{last.number} was closed by a reset within "
            f"{settings.reopen_window_minutes} minutes: re-opened, occurrence {count}"
        )
        trace["ticket_id"] = str(last.id)
        reopened = dataclasses.replace(
            last,
            status_id=status_id,
            is_closed=False,
            closed_at=None,
            auto_closed=False,
            occurrence_count=count,
            updated_at=now,
        )
        events.ticket_changed(repos, last, reopened, now, by="alert")
        return reopened

    def _open_status(
        self, repos: Repositories, view: TenantView, ticket: Ticket
    ) -> uuid.UUID | None:
        board = view.board(repos, ticket.board_id)
        if board is not None and board.default_status_id is not None:
            return board.default_status_id
        statuses = repos.statuses.of_board(ticket.tenant_id, ticket.board_id)
        return next((s.id for s in statuses if s.kind is StatusKind.OPEN), None)

    def triggered(
        self,
        repos: Repositories,
        view: TenantView,
        rule: AlertRule,
        ticket_id: uuid.UUID,
        key: str,
        now: datetime,
        trace: dict[str, Any],
    ) -> None:
        """Count a trigger of the key (whose ticket is `ticket_id`); the trigger that
        makes it flapping tells the rule's people, once."""
        tenant_id = view.tenant_id
        settings = view.flap_settings(repos)
        counted = count_trigger(repos.flap_states.get(tenant_id, key), now, settings)
        repos.flap_states.save(tenant_id, key, counted.state)
        if counted.state.flapping_since is not None:
            since = counted.state.flapping_since.isoformat()
            trace["flapping"] = f"flapping since {since}: resets leave the ticket open"
        if not counted.started_flapping:
            return
        ticket = repos.tickets.get(tenant_id, ticket_id)
        if ticket is None:
            return
        _comment(repos, ticket, flapping_comment(settings), now)
        self._notify_flapping(repos, rule, ticket, now)

    def _notify_flapping(
        self, repos: Repositories, rule: AlertRule, ticket: Ticket, now: datetime
    ) -> None:
        """The one place a flapping key is told to people."""
        notify(
            repos,
            ticket.tenant_id,
            rule.actions.notify_user_ids,
            FLAPPING_NOTIFICATION,
            f"#{ticket.number} is flapping: {ticket.title}",
            "Its condition keeps triggering and resetting; resets leave the ticket open "
            "until it has been quiet for the flap window.",
            "ticket",
            ticket.id,
            now,
        )

    def holds_open(self, repos: Repositories, ticket: Ticket, now: datetime) -> bool:
        """Whether a reset must leave this ticket open because its key is flapping (and
        says so on the ticket).

        A key quiet for the flap window is not flapping whatever its row still says
        (domain is_flapping); the row is only rewritten by the next trigger, so a
        reset never races a trigger's write of the same key."""
        if ticket.dedup_key is None:
            return False
        state = repos.flap_states.get(ticket.tenant_id, ticket.dedup_key)
        if state is None or state.flapping_since is None:
            return False
        # Read here rather than from the cached view: only a flapping key gets this far.
        settings = settings_from(repos.tenants.settings(ticket.tenant_id))
        if not is_flapping(state, now, settings):
            return False
        _comment(repos, ticket, held_open_comment(settings), now)
        return True


def flapping_keys(
    repos: Repositories, tenant_id: uuid.UUID, keys: Sequence[str], now: datetime
) -> set[str]:
    """Which of these dedup keys are flapping now (for the tickets' badge)."""
    states = repos.flap_states.of_keys(tenant_id, keys)
    if not any(s.flapping_since is not None for s in states.values()):
        return set()
    settings = settings_from(repos.tenants.settings(tenant_id))
    return {key for key, state in states.items() if is_flapping(state, now, settings)}
