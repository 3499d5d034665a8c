"""Maintenance windows: admin-managed settings under which alerts are suppressed."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.domain.maintenance import MaintenanceWindow, WeeklyRecurrence, parse_hhmm
from fleetward.domain.pagination import Page
from fleetward.domain.tenancy import NAME_MAX, clean_name
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, Repositories, ScopedRows, UnitOfWork
from fleetward.services.resources import ScopedResource

OBJECT_TYPE = "maintenance_window"
EXTEND_MAX = timedelta(days=31)  # one extension; a longer window is an edit
# What a PATCH may change; each replaces the stored value (null clears a scope or bound).
FIELDS = frozenset(
    {"name", "integration_id", "client_id", "asset_id", "starts_at", "ends_at", "recurrence"}
)


def weekly(days: Iterable[int], start_time: str, end_time: str, timezone: str) -> WeeklyRecurrence:
    """A weekly recurrence from the API's words, or InvalidInput naming the field."""
    return WeeklyRecurrence(
        days=frozenset(days),
        start=parse_hhmm(start_time, "recurrence.start_time"),
        end=parse_hhmm(end_time, "recurrence.end_time"),
        timezone=timezone,
    )


def window_document(window: MaintenanceWindow) -> dict[str, Any]:
    """The window as the API shows it and the audit log records it (JSON values only)."""
    r = window.recurrence

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "id": str(window.id),
        "name": window.name,
        "integration_id": text(window.integration_id),
        "client_id": text(window.client_id),
        "asset_id": text(window.asset_id),
        "starts_at": window.starts_at.isoformat() if window.starts_at else None,
        "ends_at": window.ends_at.isoformat() if window.ends_at else None,
        "recurrence": None if r is None else r.document(),
    }


def _check_scope(repos: Repositories, window: MaintenanceWindow, fields: Iterable[str]) -> None:
    """Scope ids must be the tenant's own; the same answer for another tenant's and a random id."""
    tenant_id = window.tenant_id
    looked_up: dict[str, tuple[ScopedRows[Any], str]] = {
        "integration_id": (repos.integrations, "an integration"),
        "client_id": (repos.clients, "a client"),
        "asset_id": (repos.assets, "an asset"),
    }
    for field in sorted(set(fields) & looked_up.keys()):
        object_id = getattr(window, field)
        rows, noun = looked_up[field]
        if object_id is not None and rows.get(tenant_id, object_id) is None:
            raise InvalidInput(f"{field}: {object_id} is not {noun} of yours", field=field)
    if window.asset_id is not None and window.integration_id is not None:
        asset = repos.assets.get(tenant_id, window.asset_id)
        # Both must match an alert, and an asset only ever comes from its own integration.
        if asset is not None and asset.integration_id != window.integration_id:
            raise InvalidInput(
                "asset_id belongs to another integration than integration_id: "
                "the window could never apply",
                field="asset_id",
            )


def _check_bounds(window: MaintenanceWindow) -> None:
    # The domain checks one-off windows; a weekly one may be bounded too, the same way.
    if window.starts_at and window.ends_at and window.ends_at <= window.starts_at:
        raise InvalidInput("ends_at must be after starts_at", field="ends_at")


class MaintenanceService:
    def __init__(self, uow: UnitOfWork, clock: Clock, probes: CrossTenantProbes) -> None:
        self.uow = uow
        self.clock = clock
        # Windows are settings: admins change them, every role may read them.
        self.windows = ScopedResource[MaintenanceWindow](
            uow,
            clock,
            probes,
            OBJECT_TYPE,
            lambda r: r.windows,
            Access.ADMIN,
            document=window_document,
        )

    def get(self, principal: Principal, window_id: uuid.UUID) -> MaintenanceWindow:
        return self.windows.get(principal, window_id)

    def page(
        self, principal: Principal, limit: int | None, cursor: str | None
    ) -> Page[MaintenanceWindow]:
        return self.windows.page(principal, limit, cursor)

    def active(self, principal: Principal, window_id: uuid.UUID, at: datetime | None) -> bool:
        """Whether the window covers an instant (now by default), whatever its scope."""
        return self.get(principal, window_id).active_at(at or self.clock())

    def create(
        self,
        principal: Principal,
        name: str,
        integration_id: uuid.UUID | None = None,
        client_id: uuid.UUID | None = None,
        asset_id: uuid.UUID | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        recurrence: WeeklyRecurrence | None = None,
    ) -> MaintenanceWindow:
        principal.require(Access.ADMIN)
        window = MaintenanceWindow(
            id=new_id(),
            tenant_id=principal.tenant_id,
            name=clean_name(name),
            integration_id=integration_id,
            client_id=client_id,
            asset_id=asset_id,
            starts_at=starts_at,
            ends_at=ends_at,
            recurrence=recurrence,
        )
        _check_bounds(window)
        with self.uow.write() as repos:
            _check_scope(repos, window, FIELDS)
            repos.windows.save(window, self.clock(), created=True)
            self._record(repos, principal, "create", window.id, after=window_document(window))
        return window

    def update(
        self, principal: Principal, window_id: uuid.UUID, changes: dict[str, Any]
    ) -> MaintenanceWindow:
        """Only the fields given change; the result must still be a valid window."""
        principal.require(Access.ADMIN)
        unknown = set(changes) - FIELDS
        if unknown:
            field = sorted(unknown)[0]
            raise InvalidInput(f"{field} cannot be changed", field=field)
        if "name" in changes:
            changes = {**changes, "name": clean_name(changes["name"])}
        with self.uow.write() as repos:
            before: MaintenanceWindow | None = repos.windows.get(principal.tenant_id, window_id)
            if before is not None:
                after = dataclasses.replace(before, **changes)  # re-checks the window
                if after == before:
                    return before
                _check_bounds(after)
                _check_scope(repos, after, changes)
                repos.windows.save(after, self.clock(), created=False)
                self._record(
                    repos,
                    principal,
                    "update",
                    window_id,
                    before=window_document(before),
                    after=window_document(after),
                )
                return after
        raise self.windows.missing(principal, window_id)

    def delete(self, principal: Principal, window_id: uuid.UUID) -> None:
        self.windows.delete(principal, window_id)

    # Ending and extending: what a person does to a window while the work runs

    def end_now(self, principal: Principal, window_id: uuid.UUID) -> MaintenanceWindow:
        """Stop a window that is on now; alerts from now on are not covered by it.

        A one-off window ends now. A weekly window skips the rest of the current
        occurrence and keeps its schedule: it starts again with the next one (its
        `starts_at` moves to the current occurrence's end), unless this was its
        last occurrence before its own end, which then becomes now. 409 when the
        window is not on now.
        """
        principal.require(Access.ADMIN)
        with self.uow.write() as repos:
            before: MaintenanceWindow | None = repos.windows.get(principal.tenant_id, window_id)
            if before is not None:
                now = self.clock()
                if not before.active_at(now):
                    raise Conflict("the window is not on now: there is nothing to end")
                changes: dict[str, Any] = {"ends_at": now}
                if before.recurrence is not None:
                    occurrence_end = before.recurrence.occurrence_end(now)
                    assert occurrence_end is not None  # active_at said it covers now
                    if before.ends_at is None or before.ends_at > occurrence_end:
                        changes = {"starts_at": occurrence_end}
                after = dataclasses.replace(before, **changes)
                self._save(repos, principal, "end_now", before, after)
                return after
        raise self.windows.missing(principal, window_id)

    def extend(
        self,
        principal: Principal,
        window_id: uuid.UUID,
        by: timedelta | None = None,
        until: datetime | None = None,
    ) -> MaintenanceWindow:
        """Make a window last longer: `by` an amount, or `until` a chosen end (after now).

        A one-off window's end moves (`by` counts from its end, or from now when it
        has ended: "one more hour" from an ended window is an hour from now). A weekly
        window keeps its schedule: the current occurrence runs on in a new one-off
        window with the same scope, from now to the occurrence's end plus `by` (or
        `until`), which is returned and can itself be ended or extended. 409 when a
        weekly window is not on now.
        """
        principal.require(Access.ADMIN)
        if (by is None) == (until is None):
            raise InvalidInput("give either by or until", field="by")
        if by is not None and not timedelta(0) < by <= EXTEND_MAX:
            raise InvalidInput(f"by must be more than 0 and at most {EXTEND_MAX.days} days", "by")
        with self.uow.write() as repos:
            before: MaintenanceWindow | None = repos.windows.get(principal.tenant_id, window_id)
            if before is not None:
                now = self.clock()
                if until is not None and until <= now:
                    raise InvalidInput("until must be in the future", field="until")
                if before.recurrence is not None:
                    return self._extend_occurrence(repos, principal, before, now, by, until)
                assert before.ends_at is not None  # a one-off window has both bounds
                ends_at = until or max(before.ends_at, now) + (by or timedelta(0))
                after = dataclasses.replace(before, ends_at=ends_at)
                self._save(repos, principal, "extend", before, after)
                return after
        raise self.windows.missing(principal, window_id)

    def _extend_occurrence(
        self,
        repos: Repositories,
        principal: Principal,
        weekly_window: MaintenanceWindow,
        now: datetime,
        by: timedelta | None,
        until: datetime | None,
    ) -> MaintenanceWindow:
        assert weekly_window.recurrence is not None
        occurrence_end = weekly_window.recurrence.occurrence_end(now)
        if occurrence_end is None or not weekly_window.active_at(now):
            raise Conflict(
                "a weekly window is extended while it is on: change its schedule "
                "(Edit) or create a one-off window"
            )
        suffix = " (extended)"
        ends_at = until or occurrence_end + (by or timedelta(0))
        extension = dataclasses.replace(
            weekly_window,
            id=new_id(),
            name=weekly_window.name[: NAME_MAX - len(suffix)] + suffix,
            starts_at=now,
            ends_at=ends_at,
            recurrence=None,
        )
        repos.windows.save(extension, self.clock(), created=True)
        self._record(repos, principal, "create", extension.id, after=window_document(extension))
        self._record(
            repos,
            principal,
            "extend",
            weekly_window.id,
            after={"extension_id": str(extension.id), "ends_at": ends_at.isoformat()},
        )
        return extension

    def _save(
        self,
        repos: Repositories,
        principal: Principal,
        verb: str,
        before: MaintenanceWindow,
        after: MaintenanceWindow,
    ) -> None:
        _check_bounds(after)
        repos.windows.save(after, self.clock(), created=False)
        document = window_document
        self._record(repos, principal, verb, after.id, document(before), document(after))

    def _record(
        self,
        repos: Repositories,
        principal: Principal,
        verb: str,
        window_id: uuid.UUID,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        record(
            repos,
            self.clock,
            principal.tenant_id,
            actor_of(principal),
            f"{OBJECT_TYPE}.{verb}",
            OBJECT_TYPE,
            window_id,
            before=before,
            after=after,
        )
