"""Event-log watch rules: admin-managed settings that tell agents which events become alerts.

Every change to a rule raises the config version of each agent it applies to
(before and after the change), in the same transaction: that version is what
makes a connected agent receive a ConfigUpdate. Once the change is committed,
`config_changed` is told the tenant, so the control hub can push it at once.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

from fleetward.domain.agent_config import rule_document
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import (
    WATCH_DEFAULT_SORT,
    EventLogWatch,
    ScopeType,
    WatchRule,
    WatchScope,
)
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page, clamp_limit
from fleetward.domain.tenancy import clean_name
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import Clock, Repositories, ScopedRows, UnitOfWork
from fleetward.services.resources import ScopedResource

OBJECT_TYPE = "eventlog_watch"
# Fields of the rule itself a PATCH may replace; `scope` is the watch's own.
RULE_FIELDS = frozenset(
    {
        "name",
        "log_name",
        "event_ids",
        "providers",
        "min_level",
        "keywords",
        "alert_severity",
        "enabled",
    }
)
FIELDS = RULE_FIELDS | {"scope"}


def watch_document(watch: EventLogWatch) -> dict[str, Any]:
    """The rule as the API shows it and the audit log records it (JSON values only):
    the agents' config shape (domain/agent_config.py) plus its scope."""
    return {
        **rule_document(watch),
        "scope": {
            "type": watch.scope.type.value,
            "id": None if watch.scope.id is None else str(watch.scope.id),
        },
    }


def _rule_values(values: dict[str, Any]) -> dict[str, Any]:
    """The API's lists as WatchRule holds them; a name is cleaned as every name is."""
    shaped = dict(values)
    if "event_ids" in shaped:
        shaped["event_ids"] = frozenset(shaped["event_ids"])
    for field in ("providers", "keywords"):
        if field in shaped:
            shaped[field] = tuple(shaped[field])
    if "name" in shaped:
        shaped["name"] = clean_name(shaped["name"])
    return shaped


def _check_scope(repos: Repositories, tenant_id: uuid.UUID, scope: WatchScope) -> None:
    """The scope's object must be the tenant's own; another tenant's reads as a random id."""
    if scope.type is ScopeType.TENANT or scope.id is None:
        return
    by_type: dict[ScopeType, ScopedRows[Any]] = {
        ScopeType.CLIENT: repos.clients,
        ScopeType.SITE: repos.sites,
        ScopeType.AGENT: repos.agents,
    }
    rows = by_type[scope.type]
    if rows.get(tenant_id, scope.id) is None:
        raise InvalidInput(
            f"scope.id: {scope.id} is not a {scope.type.value} of yours", field="scope.id"
        )


def _nobody_listens(tenant_id: uuid.UUID) -> None:
    return None


class WatchService:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        probes: CrossTenantProbes,
        config_changed: Callable[[uuid.UUID], None] = _nobody_listens,
    ) -> None:
        self.uow = uow
        self.clock = clock
        # Called after the commit, never inside it: a push must not show an agent a
        # config the database could still roll back. It runs on the caller's thread.
        self.config_changed = config_changed
        # Watch rules are settings: admins change them, every role may read them.
        self.watches = ScopedResource[EventLogWatch](
            uow,
            clock,
            probes,
            OBJECT_TYPE,
            lambda r: r.watches,
            Access.ADMIN,
            document=watch_document,
        )

    def get(self, principal: Principal, watch_id: uuid.UUID) -> EventLogWatch:
        return self.watches.get(principal, watch_id)

    def page(
        self, principal: Principal, limit: int | None, cursor: str | None
    ) -> Page[EventLogWatch]:
        return self.watches.page(principal, limit, cursor)

    def listed(
        self,
        principal: Principal,
        limit: int | None,
        cursor: str | None,
        sort: Sort = WATCH_DEFAULT_SORT,
        enabled: bool | None = None,
    ) -> Page[EventLogWatch]:
        """One page in `sort` order (by name by default), with the total."""
        principal.require(self.watches.read_access)
        with self.uow.read() as repos:
            return repos.watches.listed(
                principal.tenant_id, sort, clamp_limit(limit), cursor, enabled
            )

    def create(
        self, principal: Principal, scope: WatchScope, rule: dict[str, Any]
    ) -> EventLogWatch:
        """`rule` holds WatchRule's fields (name and log_name at least); the domain checks them."""
        principal.require(Access.ADMIN)
        unknown = set(rule) - RULE_FIELDS
        if unknown:
            field = sorted(unknown)[0]
            raise InvalidInput(f"{field} is not a field of a watch rule", field=field)
        now = self.clock()
        watch = EventLogWatch(
            tenant_id=principal.tenant_id,
            scope=scope,
            rule=WatchRule(id=new_id(), **_rule_values(rule)),
            created_at=now,
            updated_at=now,
        )
        with self.uow.write() as repos:
            _check_scope(repos, principal.tenant_id, scope)
            repos.watches.save(watch, now, created=True)
            repos.watches.bump_config_versions(principal.tenant_id, [scope])
            self._record(repos, principal, "create", watch.id, after=watch_document(watch))
        self.config_changed(principal.tenant_id)
        return watch

    def update(
        self, principal: Principal, watch_id: uuid.UUID, changes: dict[str, Any]
    ) -> EventLogWatch:
        """Only the fields given change; the result must still be a valid rule."""
        principal.require(Access.ADMIN)
        unknown = set(changes) - FIELDS
        if unknown:
            field = sorted(unknown)[0]
            raise InvalidInput(f"{field} cannot be changed", field=field)
        rule_changes = _rule_values({k: v for k, v in changes.items() if k in RULE_FIELDS})
        with self.uow.write() as repos:
            before: EventLogWatch | None = repos.watches.get(principal.tenant_id, watch_id)
            if before is None:
                after = None
            else:
                after = self._apply(repos, principal, before, changes, rule_changes)
        if after is None:
            # Outside the write: the miss may itself write an audit entry.
            raise self.watches.missing(principal, watch_id)
        if after is not before:
            self.config_changed(principal.tenant_id)
        return after

    def _apply(
        self,
        repos: Repositories,
        principal: Principal,
        before: EventLogWatch,
        changes: dict[str, Any],
        rule_changes: dict[str, Any],
    ) -> EventLogWatch:
        """The update inside its transaction; `before` itself when nothing changes."""
        scope = changes.get("scope", before.scope)
        rule = dataclasses.replace(before.rule, **rule_changes)  # re-checks the rule
        if scope == before.scope and rule == before.rule:
            return before
        if scope != before.scope:
            _check_scope(repos, principal.tenant_id, scope)
        now = self.clock()
        after = dataclasses.replace(before, scope=scope, rule=rule, updated_at=now)
        repos.watches.save(after, now, created=False)
        # The agents it left stop watching, the ones it reached start: both hear of it.
        repos.watches.bump_config_versions(principal.tenant_id, [before.scope, scope])
        self._record(
            repos,
            principal,
            "update",
            before.id,
            before=watch_document(before),
            after=watch_document(after),
        )
        return after

    def delete(self, principal: Principal, watch_id: uuid.UUID) -> None:
        principal.require(Access.ADMIN)
        with self.uow.write() as repos:
            before: EventLogWatch | None = repos.watches.get(principal.tenant_id, watch_id)
            if before is not None:
                repos.watches.delete(principal.tenant_id, watch_id)
                repos.watches.bump_config_versions(principal.tenant_id, [before.scope])
                self._record(repos, principal, "delete", watch_id, before=watch_document(before))
        if before is None:
            raise self.watches.missing(principal, watch_id)
        self.config_changed(principal.tenant_id)

    def _record(
        self,
        repos: Repositories,
        principal: Principal,
        verb: str,
        watch_id: uuid.UUID,
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
            watch_id,
            before=before,
            after=after,
        )
