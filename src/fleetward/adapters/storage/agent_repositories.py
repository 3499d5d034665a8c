"""Repositories of agents, their enrolment tokens and the per-machine timeline."""

from __future__ import annotations

import dataclasses
import functools
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.hot_sql import cached_statement, sqlite_utc_text
from fleetward.adapters.storage.listing import sorted_page
from fleetward.adapters.storage.repositories import RepositorySet, TenantRows, _to, repository
from fleetward.domain.agents import (
    AGENT_STATES,
    TIMELINE_DEFAULT_SORT,
    Agent,
    EnrollmentToken,
    StoredEvent,
    TimelineFilter,
)
from fleetward.domain.alerts import SEVERITY_RANK, Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import EventLogWatch, MinLevel, ScopeType, WatchRule, WatchScope
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page

# The sort value of an agent never seen: older than any time one was.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)

_BAD_CURSOR = "cursor is not one this server handed out"
_MAX_ROW_ID = 2**63 - 1


class EnrollmentTokenRepository(TenantRows[EnrollmentToken]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.enrollment_token, EnrollmentToken)

    def add(self, token: EnrollmentToken, token_hash: str) -> EnrollmentToken:
        self.conn.execute(
            insert(self.table).values(**dataclasses.asdict(token), token_hash=token_hash)
        )
        return token

    def by_hash(self, token_hash: str) -> EnrollmentToken | None:
        """Any tenant's token: the secret itself says whose it is."""
        return self.one_where(self.table.c.token_hash == token_hash)


class AgentRepository(TenantRows[Agent]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.agent, Agent, unique_fields=())

    def add(self, agent: Agent, key_hash: str) -> Agent:
        self.conn.execute(insert(self.table).values(**dataclasses.asdict(agent), key_hash=key_hash))
        return agent

    def by_hash(self, key_hash: str) -> Agent | None:
        """Any tenant's agent: the key itself says whose it is. Hot: every agent request."""
        statement = cached_statement(("agent_by_hash",), _by_hash_statement)
        row = self.conn.execute(statement, {"h": key_hash}).mappings().first()
        return None if row is None else _to(Agent, row)

    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        state: str | None,
        online_since: datetime,
        client_id: uuid.UUID | None = None,
    ) -> Page[Agent]:
        """One counted page in `sort` order; `state` is online (seen since
        `online_since`, not revoked), offline or revoked, None for every agent;
        `client_id` keeps the agents of that client's sites."""
        conditions = [_state_condition(state, online_since)] if state else []
        conditions += _client_condition(client_id)
        return self.sorted(tenant_id, _agent_sorts(), sort, limit, cursor, *conditions)

    def state_counts(
        self, tenant_id: uuid.UUID, online_since: datetime, client_id: uuid.UUID | None = None
    ) -> dict[str, int]:
        """How many of the tenant's agents (of one client's sites) are in each state,
        in one query."""
        t = schema.agent
        counts = [
            func.coalesce(func.sum(case((_state_condition(state, online_since), 1), else_=0)), 0)
            for state in AGENT_STATES
        ]
        query = select(*counts).where(t.c.tenant_id == tenant_id, *_client_condition(client_id))
        row = self.conn.execute(query).one()
        return {state: int(count) for state, count in zip(AGENT_STATES, row, strict=True)}


def _client_condition(client_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    if client_id is None:
        return []
    s = schema.site
    return [schema.agent.c.site_id.in_(select(s.c.id).where(s.c.client_id == client_id))]


def _state_condition(state: str, online_since: datetime) -> ColumnElement[bool]:
    t = schema.agent
    if state == "revoked":
        return t.c.revoked_at.is_not(None)
    seen = and_(t.c.last_seen_at.is_not(None), t.c.last_seen_at >= online_since)
    if state == "online":
        return and_(t.c.revoked_at.is_(None), seen)
    if state == "offline":
        return and_(t.c.revoked_at.is_(None), ~seen)
    raise InvalidInput(f"state must be one of {', '.join(AGENT_STATES)}", field="state")


def _watch_sorts() -> dict[str, ColumnElement[Any]]:
    w = schema.eventlog_watch
    rank = case(*((w.c.alert_severity == s.value, r) for s, r in SEVERITY_RANK.items()), else_=-1)
    return {
        "name": func.lower(w.c.name),
        "log_name": func.lower(w.c.log_name),
        "severity": rank,
        # Stored as a boolean on PostgreSQL, 0/1 on SQLite: a number sorts the same on both.
        "enabled": case((w.c.enabled, 1), else_=0),
        "created_at": w.c.created_at,
    }


def _agent_sorts() -> dict[str, ColumnElement[Any]]:
    t, site, client = schema.agent, schema.site, schema.client
    # "Contoso / Head office", as the list shows the site; its client goes first.
    site_label = select(func.lower(client.c.name + " / " + site.c.name)).where(
        site.c.id == t.c.site_id, client.c.id == site.c.client_id
    )
    return {
        "hostname": func.lower(t.c.hostname),
        # Never seen: before any time an agent was seen, so last among the most recent.
        "last_seen_at": func.coalesce(t.c.last_seen_at, NEVER),
        "os": func.lower(t.c.os),
        "site": func.coalesce(site_label.scalar_subquery(), ""),
        "created_at": t.c.created_at,
    }


def _by_hash_statement() -> Any:
    t = schema.agent
    columns = [t.c[f.name] for f in dataclasses.fields(Agent)]
    return select(*columns).where(t.c.key_hash == bindparam("h"))


def _watch(row: Mapping[Any, Any]) -> EventLogWatch:
    scope_id = row["scope_id"]
    return EventLogWatch(
        tenant_id=row["tenant_id"],
        scope=WatchScope(ScopeType(row["scope_type"]), scope_id),
        rule=WatchRule(
            id=row["id"],
            log_name=row["log_name"],
            name=row["name"],
            event_ids=frozenset(row["event_ids"]),
            providers=tuple(row["providers"]),
            min_level=MinLevel(row["min_level"]),
            keywords=tuple(row["keywords"]),
            alert_severity=Severity(row["alert_severity"]),
            enabled=row["enabled"],
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class WatchRepository(TenantRows[EventLogWatch]):
    """Event-log watch rules, and the config version of the agents they apply to."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.eventlog_watch, EventLogWatch, convert=_watch)

    def _columns(self) -> list[Any]:
        return list(schema.eventlog_watch.c)

    def save(self, watch: EventLogWatch, at: datetime, created: bool) -> None:
        rule = watch.rule
        values: dict[str, Any] = {
            "name": rule.name,
            "scope_type": watch.scope.type.value,
            "scope_id": watch.scope.id,
            "log_name": rule.log_name,
            "event_ids": sorted(rule.event_ids),
            "providers": list(rule.providers),
            "min_level": rule.min_level.value,
            "keywords": list(rule.keywords),
            "alert_severity": rule.alert_severity.value,
            "enabled": rule.enabled,
        }
        self.save_values(watch.tenant_id, watch.id, values, at, created)

    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        enabled: bool | None = None,
    ) -> Page[EventLogWatch]:
        """One counted page in `sort` order; `enabled` keeps only enabled or disabled."""
        w = schema.eventlog_watch
        conditions = [] if enabled is None else [w.c.enabled == enabled]
        return self.sorted(tenant_id, _watch_sorts(), sort, limit, cursor, *conditions)

    def for_agent(self, agent: Agent) -> list[EventLogWatch]:
        """Every rule that applies to `agent`: its tenant's, its site's client's, its
        site's and its own, enabled or not, oldest first."""
        w, site = schema.eventlog_watch, schema.site
        client_of_site = select(site.c.client_id).where(site.c.id == agent.site_id)
        return self.all_where(
            w.c.tenant_id == agent.tenant_id,
            or_(
                w.c.scope_type == ScopeType.TENANT.value,
                and_(w.c.scope_type == ScopeType.AGENT.value, w.c.scope_id == agent.id),
                and_(w.c.scope_type == ScopeType.SITE.value, w.c.scope_id == agent.site_id),
                and_(w.c.scope_type == ScopeType.CLIENT.value, w.c.scope_id.in_(client_of_site)),
            ),
            order_by=[w.c.created_at, w.c.id],
        )

    def bump_config_versions(self, tenant_id: uuid.UUID, scopes: Sequence[WatchScope]) -> int:
        """Add one to the config version of every agent of the tenant in any of `scopes`
        (each agent once); answer how many agents that was."""
        a, site = schema.agent, schema.site
        reached = []
        for scope in scopes:
            if scope.type is ScopeType.TENANT:
                reached = [a.c.tenant_id == tenant_id]
                break
            if scope.type is ScopeType.AGENT:
                reached.append(a.c.id == scope.id)
            elif scope.type is ScopeType.SITE:
                reached.append(a.c.site_id == scope.id)
            else:
                sites = select(site.c.id).where(
                    site.c.tenant_id == tenant_id, site.c.client_id == scope.id
                )
                reached.append(a.c.site_id.in_(sites))
        if not reached:
            return 0
        statement = (
            update(a)
            .where(a.c.tenant_id == tenant_id, or_(*reached))
            .values(config_version=a.c.config_version + 1)
        )
        return int(self.conn.execute(statement).rowcount)


def _event(row: Mapping[Any, Any]) -> StoredEvent:
    return _to(StoredEvent, row)


# What makes a stored event the same event: the table's unique constraint.
_EVENT_KEY = ("pc_id", "source", "event_record_id")


def _insert_ignoring_duplicates(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (pc_id, source, event_record_id) DO NOTHING, per dialect."""
    t = schema.obs_event
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return build(t).on_conflict_do_nothing(index_elements=list(_EVENT_KEY))


_INSERT_COLUMNS = (
    "tenant_id",
    "pc_id",
    "at",
    "kind",
    "source",
    "event_record_id",
    "payload",
    "received_at",
)


# The SQLite insert as one statement over a JSON array of
# [at, kind, source, event_record_id, payload] rows, in order; ?1-?3 are the
# columns the batch shares.
_JSON_EACH_INSERT = (
    "INSERT INTO obs_event"  # noqa: S608 - built from module constants, never from input
    " (tenant_id, pc_id, received_at, at, kind, source, event_record_id, payload)"
    " SELECT ?1, ?2, ?3, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4"
    " FROM json_each(?4) WHERE true"  # WHERE: SQLite's parser needs it before ON CONFLICT
    f" ON CONFLICT ({', '.join(_EVENT_KEY)}) DO NOTHING"
)


@functools.cache
def _has_json_each() -> bool:
    """Whether the linked SQLite has json_each and ->> (3.38 and later do)."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("SELECT '[1]' ->> 0 FROM json_each('[]')").fetchall()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def _compiled_sqlite_insert(dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """SQL text and bind processors of the SQLite batch insert, whose parameters
    come in the order of _INSERT_COLUMNS."""
    compiled = _insert_ignoring_duplicates("sqlite").compile(
        dialect=dialect, column_keys=list(_INSERT_COLUMNS)
    )
    if tuple(compiled.positiontup or ()) != _INSERT_COLUMNS:
        raise AssertionError(f"unexpected parameter order {compiled.positiontup}")
    t = schema.obs_event

    def identity(value: Any) -> Any:
        return value

    processors = {
        name: t.c[name].type.dialect_impl(dialect).bind_processor(dialect) or identity
        for name in _INSERT_COLUMNS
    }
    return compiled.string, processors


class TimelineRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store what is new in one executemany; answer how many rows were inserted.

        Rows already stored (or repeated within `rows`) are skipped by the unique
        constraint, so a re-sent batch changes nothing.
        """
        if not rows:
            return 0
        dialect = self.conn.dialect.name
        if dialect == "sqlite":
            return self._insert_many_sqlite(rows)
        # psycopg reports no rowcount for a batch; RETURNING lists exactly the rows
        # inserted, and SQLAlchemy still sends the batch as multi-row INSERTs.
        returning = cached_statement(
            ("timeline_insert_returning", dialect),
            lambda: _insert_ignoring_duplicates(dialect).returning(schema.obs_event.c.id),
        )
        columns = [{name: row[name] for name in _INSERT_COLUMNS} for row in rows]
        return len(self.conn.execute(returning, columns).all())

    def _insert_many_sqlite(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """The same insert, executed by the driver with values bound here.

        SQLAlchemy's per-row parameter processing cost ~25 us a row, five times
        SQLite's own insert. The columns a batch shares go through their types'
        own bind processors once; per row, `at` is formatted as UTCDateTime would
        store it, and the payload is the row's `payload_json` when the service
        serialised it already (read back the same as json.dumps would have stored).

        The rows go to SQLite as one JSON array in one statement (json_each),
        not through executemany: executemany takes the GIL back for every row,
        so a batch being inserted and the next one being parsed took turns
        instead of overlapping (about a fifth more rows/s over HTTP this way).
        """
        statement, processors = cached_statement(
            ("timeline_insert_sqlite",), lambda: _compiled_sqlite_insert(self.conn.dialect)
        )
        first = rows[0]
        tenant_id, pc_id = first["tenant_id"], first["pc_id"]
        if any(row["tenant_id"] != tenant_id or row["pc_id"] != pc_id for row in rows):
            raise ValueError("one batch is one machine's: rows must share tenant_id and pc_id")
        tenant, pc, received = (
            processors[name](first[name]) for name in ("tenant_id", "pc_id", "received_at")
        )
        values = [
            (
                sqlite_utc_text(row["at"], row.get("at_sent")),
                row["kind"],
                row["source"],
                row["event_record_id"],
                row.get("payload_json") or orjson.dumps(row["payload"]).decode(),
            )
            for row in rows
        ]
        driver = self.conn.connection.driver_connection
        if _has_json_each():
            batch = orjson.dumps(values).decode()
            cursor = driver.execute(_JSON_EACH_INSERT, (tenant, pc, received, batch))  # type: ignore[union-attr]
            return int(cursor.rowcount)
        # pysqlite's executemany sums the rows each execution changed.
        rows_in_order = [
            (tenant, pc, at, kind, source, record, payload, received)
            for at, kind, source, record, payload in values
        ]
        return int(self.conn.exec_driver_sql(statement, rows_in_order).rowcount)

    def search(
        self,
        tenant_id: uuid.UUID,
        where: TimelineFilter,
        limit: int,
        cursor: str | None,
        sort: Sort = TIMELINE_DEFAULT_SORT,
        count_up_to: int = 0,
    ) -> Page[StoredEvent]:
        """Newest first unless `sort` says oldest, keyset on (at, id); every filter runs
        in SQL, so pages stay exact. With `count_up_to`, the total counts matches up to
        one more than it (a tenant's timeline may hold millions: counting stops there)."""
        t = schema.obs_event
        columns = [t.c[f.name] for f in dataclasses.fields(StoredEvent)]
        query = select(*columns).where(t.c.tenant_id == tenant_id)
        if where.pc_id is not None:
            query = query.where(t.c.pc_id == where.pc_id)
        if where.kinds:
            query = query.where(t.c.kind.in_(where.kinds))
        if where.sources:
            query = query.where(t.c.source.in_(where.sources))
        if where.since is not None:
            query = query.where(t.c.at >= where.since)
        if where.until is not None:
            query = query.where(t.c.at < where.until)
        for key, value in where.payload:
            # json_extract on SQLite, ->> on PostgreSQL. The cast makes a number
            # compare as its text on both (SQLite's json_extract answers 2, not "2").
            query = query.where(cast(t.c.payload[key].as_string(), String) == value)
        rows, next_cursor, _ = sorted_page(
            self.conn, query, {"at": t.c.at}, t.c.id, sort, limit, cursor, count=False
        )
        total = None
        if count_up_to:
            # Ids only: the count can then read an index rather than the rows.
            matching = query.with_only_columns(t.c.id).order_by(None)
            capped = matching.limit(count_up_to + 1).subquery()
            total = int(self.conn.execute(select(func.count()).select_from(capped)).scalar_one())
        return Page([_event(row) for row in rows], next_cursor, total)

    def delete_before(self, cutoff: datetime) -> int:
        """Every tenant's events recorded before `cutoff` (retention runs for all)."""
        t = schema.obs_event
        return int(self.conn.execute(delete(t).where(t.c.at < cutoff)).rowcount)


class AgentRepositories(RepositorySet):
    """The agent side's repositories over one transaction."""

    enrollment_tokens = repository(EnrollmentTokenRepository)
    agents = repository(AgentRepository)
    timeline = repository(TimelineRepository)
    watches = repository(WatchRepository)
