"""SQL repositories over one open connection (one transaction).

Every query on tenant data names the tenant; `owner_of` is the one unscoped
look-up, used only to notice (and audit) attempts on another tenant's object.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from fleetward.adapters.storage import hot_sql, schema
from fleetward.adapters.storage.hot_sql import cached_statement
from fleetward.adapters.storage.listing import sorted_page
from fleetward.adapters.storage.login_throttle import LoginThrottleRepository
from fleetward.domain.audit import GENESIS_HASH, AuditEntry, entry_hash
from fleetward.domain.errors import Conflict, InvalidInput
from fleetward.domain.identity import Role
from fleetward.domain.ids import new_id
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import Page, decode_cursor, encode_cursor
from fleetward.domain.tenancy import ApiKey, Client, Site, Tenant, User

T = TypeVar("T")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _to(cls: type[T], row: Mapping[Any, Any]) -> T:
    return cls(**{name: row[name] for name in field_names(cls)})


def values_of(obj: Any) -> dict[str, Any]:
    """A dataclass as column values: shallow, unlike dataclasses.asdict's deep copy."""
    return {name: getattr(obj, name) for name in field_names(type(obj))}


def _conflict_field(error: IntegrityError, unique_fields: Sequence[str]) -> Conflict:
    # Both engines name the violated constraint or columns in the message.
    text = str(error.orig)
    for field in unique_fields:
        if field in text:
            return Conflict(f"another object already has this {field}", field=field)
    return Conflict("this conflicts with an existing object")


_BAD_CURSOR = "cursor is not one this server handed out"
# Audit seq is a BIGINT: a larger number cannot have been handed out.
_MAX_SEQ = 2**63 - 1


def time_id_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) a page ended on; anything else is the caller's mistake.

    The server hands out aware UTC times; a naive or out-of-range one would
    fail later in the UTC column type, as a 500.
    """
    at_raw, id_raw = decode_cursor(cursor, 2)
    try:
        after_at = datetime.fromisoformat(str(at_raw))
        after_id = uuid.UUID(str(id_raw))
        if after_at.tzinfo is None:
            raise ValueError("naive time")
        after_at = after_at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(_BAD_CURSOR, field="cursor") from None
    return after_at, after_id


def seq_cursor(cursor: str) -> int:
    """The sequence number (audit seq, ticket number) a newest-first page ended on."""
    (before,) = decode_cursor(cursor, 1)
    if not isinstance(before, int) or not 1 <= before <= _MAX_SEQ:
        raise InvalidInput(_BAD_CURSOR, field="cursor")
    return before


class TenantRows(Generic[T]):
    """Tenant-scoped CRUD for one table mapped to one frozen dataclass."""

    def __init__(
        self,
        conn: Connection,
        table: Table,
        model: type[T],
        unique_fields: Sequence[str] = ("name",),
        convert: Callable[[Mapping[Any, Any]], T] | None = None,
    ) -> None:
        self.conn = conn
        self.table = table
        self.model = model
        self.unique_fields = unique_fields
        self._convert = convert or (lambda row: _to(model, row))

    def _columns(self) -> list[Any]:
        names = [f.name for f in dataclasses.fields(self.model)]  # type: ignore[arg-type]
        return [self.table.c[name] for name in names]

    def get(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **where: Any) -> T | None:
        t = self.table
        keys = tuple(sorted(where))
        if any(value is None for value in where.values()):
            raise ValueError("get() compares with =; None would never match")

        def build() -> Any:
            return select(*self._columns()).where(
                t.c.tenant_id == bindparam("_tenant_id"),
                t.c.id == bindparam("_id"),
                *(t.c[key] == bindparam(key) for key in keys),
            )

        statement = cached_statement(("get", t.name, self.model, keys), build)
        params = {"_tenant_id": tenant_id, "_id": object_id, **where}
        row = self.conn.execute(statement, params).mappings().first()
        return None if row is None else self._convert(row)

    def owner_of(self, object_id: uuid.UUID) -> uuid.UUID | None:
        return self.conn.execute(
            select(self.table.c.tenant_id).where(self.table.c.id == object_id)
        ).scalar_one_or_none()

    def page(self, tenant_id: uuid.UUID, limit: int, cursor: str | None, **where: Any) -> Page[T]:
        """Oldest first, keyset on (created_at, id)."""
        t = self.table
        keys = tuple(sorted(where))
        if any(value is None for value in where.values()):
            raise ValueError("page() compares with =; None would never match")
        params: dict[str, Any] = {"_tenant_id": tenant_id, "_limit": limit + 1, **where}
        if cursor:
            params["_after_at"], params["_after_id"] = time_id_cursor(cursor)

        def build() -> Any:
            query = select(*self._columns()).where(
                t.c.tenant_id == bindparam("_tenant_id"),
                *(t.c[key] == bindparam(key) for key in keys),
            )
            if cursor:
                after_at: Any = bindparam("_after_at")
                after_id: Any = bindparam("_after_id")
                query = query.where(
                    or_(
                        t.c.created_at > after_at,
                        and_(t.c.created_at == after_at, t.c.id > after_id),
                    )
                )
            return query.order_by(t.c.created_at, t.c.id).limit(bindparam("_limit"))

        # Lists are read far more often than written: the statement is built once per shape.
        statement = cached_statement(("page", t.name, self.model, keys, bool(cursor)), build)
        rows = self.conn.execute(statement, params).mappings().all()
        items = [self._convert(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last["created_at"].isoformat(), str(last["id"]))
        return Page(items, next_cursor)

    def sorted(
        self,
        tenant_id: uuid.UUID,
        sortable: Mapping[str, ColumnElement[Any]],
        sort: Sort,
        limit: int,
        cursor: str | None,
        *conditions: ColumnElement[bool],
    ) -> Page[T]:
        """One page in `sort` order (a key of `sortable`), counted, filtered by
        `conditions` on this table (adapters/storage/listing.py)."""
        query = select(*self._columns()).where(self.table.c.tenant_id == tenant_id, *conditions)
        rows, next_cursor, total = sorted_page(
            self.conn, query, sortable, self.table.c.id, sort, limit, cursor
        )
        return Page([self._convert(row) for row in rows], next_cursor, total)

    def insert(self, obj: T) -> T:
        table = self.table
        key = ("insert", table.name)
        try:
            hot_sql.execute(self.conn, key, lambda: insert(table), values_of(obj))
        except IntegrityError as error:
            raise _conflict_field(error, self.unique_fields) from None
        return obj

    def update(self, tenant_id: uuid.UUID, object_id: uuid.UUID, **values: Any) -> None:
        t = self.table
        try:
            self.conn.execute(
                update(t).where(t.c.tenant_id == tenant_id, t.c.id == object_id).values(**values)
            )
        except IntegrityError as error:
            raise _conflict_field(error, self.unique_fields) from None

    def one_where(self, *conditions: Any) -> T | None:
        """The row that meets all `conditions` (a unique key's), if there is one."""
        query = select(*self._columns()).where(*conditions)
        row = self.conn.execute(query).mappings().first()
        return None if row is None else self._convert(row)

    def all_where(self, *conditions: Any, order_by: Sequence[Any]) -> list[T]:
        """Every row that meets all `conditions`, in `order_by` order."""
        query = select(*self._columns()).where(*conditions).order_by(*order_by)
        return [self._convert(row) for row in self.conn.execute(query).mappings()]

    def save_values(
        self,
        tenant_id: uuid.UUID,
        object_id: uuid.UUID,
        values: dict[str, Any],
        at: datetime,
        created: bool,
    ) -> None:
        """Writes an object's changeable columns, stamped `at`: a new row when `created`
        (created_at too), else the existing one."""
        t = self.table
        if created:
            self.conn.execute(
                insert(t).values(
                    id=object_id, tenant_id=tenant_id, created_at=at, updated_at=at, **values
                )
            )
        else:
            self.conn.execute(
                update(t)
                .where(t.c.tenant_id == tenant_id, t.c.id == object_id)
                .values(updated_at=at, **values)
            )

    def delete(self, tenant_id: uuid.UUID, object_id: uuid.UUID) -> bool:
        t = self.table
        result = self.conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id == object_id))
        return result.rowcount > 0

    def count(self, tenant_id: uuid.UUID, **where: Any) -> int:
        t = self.table
        query = select(func.count()).select_from(t).where(t.c.tenant_id == tenant_id)
        for key, value in where.items():
            query = query.where(t.c[key] == value)
        return int(self.conn.execute(query).scalar_one())


def _user(row: Mapping[Any, Any]) -> User:
    return _to(User, {**row, "role": Role(row["role"])})


class TenantRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, tenant: Tenant) -> Tenant:
        try:
            self.conn.execute(insert(schema.tenant).values(**dataclasses.asdict(tenant)))
        except IntegrityError:
            raise Conflict(f"a tenant named {tenant.name!r} exists", field="name") from None
        return tenant

    def by_name(self, name: str) -> Tenant | None:
        row = (
            self.conn.execute(select(schema.tenant).where(schema.tenant.c.name == name))
            .mappings()
            .first()
        )
        return None if row is None else _to(Tenant, row)

    def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        row = (
            self.conn.execute(select(schema.tenant).where(schema.tenant.c.id == tenant_id))
            .mappings()
            .first()
        )
        return None if row is None else _to(Tenant, row)

    def config_version(self, tenant_id: uuid.UUID) -> int:
        """The counter the config tables' triggers bump (0 for an unknown tenant)."""
        t = schema.tenant
        found = hot_sql.fetch_scalar(
            self.conn,
            ("tenant.config_version",),
            lambda: select(t.c.config_version).where(t.c.id == bindparam("tenant_id")),
            {"tenant_id": tenant_id},
        )
        return int(found or 0)

    def settings(self, tenant_id: uuid.UUID) -> dict[str, Any]:
        """The tenant's settings document (tenant.settings), {} for an unknown tenant."""
        t = schema.tenant
        statement = cached_statement(
            ("tenant.settings",),
            lambda: select(t.c.settings).where(t.c.id == bindparam("tenant_id")),
        )
        found = self.conn.execute(statement, {"tenant_id": tenant_id}).scalar_one_or_none()
        return dict(found or {})

    def save_settings(self, tenant_id: uuid.UUID, settings: dict[str, Any]) -> None:
        """Replace the settings and move config_version in the same statement: the
        pipeline keeps them in its per-version view, so the next alert sees them."""
        t = schema.tenant
        self.conn.execute(
            update(t)
            .where(t.c.id == tenant_id)
            .values(settings=settings, config_version=t.c.config_version + 1)
        )

    def lock(self, tenant_id: uuid.UUID) -> None:
        """Serialise writers of one tenant's hash chain (SQLite has one writer anyway)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(
                select(schema.tenant.c.id)
                .where(schema.tenant.c.id == tenant_id)
                .with_for_update(key_share=True)
            )


class UserRepository(TenantRows[User]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.app_user, User, unique_fields=("email",), convert=_user)

    def add(self, user: User, password_hash: str) -> User:
        values = {
            **dataclasses.asdict(user),
            "role": user.role.value,
            "password_hash": password_hash,
        }
        try:
            self.conn.execute(insert(schema.app_user).values(**values))
        except IntegrityError:
            raise Conflict(f"a user with e-mail {user.email!r} exists", field="email") from None
        return user

    def credentials(self, email: str) -> tuple[User, str] | None:
        """Unscoped by design: logging in is how a person's tenant is found."""
        row = (
            self.conn.execute(select(schema.app_user).where(schema.app_user.c.email == email))
            .mappings()
            .first()
        )
        return None if row is None else (_user(row), row["password_hash"])

    def by_id_any_tenant(self, user_id: uuid.UUID) -> User | None:
        row = (
            self.conn.execute(select(schema.app_user).where(schema.app_user.c.id == user_id))
            .mappings()
            .first()
        )
        return None if row is None else _user(row)

    def by_email_any_tenant(self, email: str) -> User | None:
        found = self.credentials(email)
        return None if found is None else found[0]


class ApiKeyRepository(TenantRows[ApiKey]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.api_key, ApiKey)

    def add(self, key: ApiKey, key_hash: str) -> ApiKey:
        self.conn.execute(
            insert(schema.api_key).values(**dataclasses.asdict(key), key_hash=key_hash)
        )
        return key

    def by_hash(self, key_hash: str) -> ApiKey | None:
        """Every request with an API key asks this: one statement, built once."""
        t = schema.api_key
        statement = cached_statement(
            ("api_key.by_hash",),
            lambda: select(*self._columns()).where(t.c.key_hash == bindparam("key_hash")),
        )
        row = self.conn.execute(statement, {"key_hash": key_hash}).mappings().first()
        return None if row is None else self._convert(row)


@dataclasses.dataclass(frozen=True, slots=True)
class SessionRow:
    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class SessionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, session: SessionRow, token_hash: str) -> None:
        self.conn.execute(
            insert(schema.user_session).values(**dataclasses.asdict(session), token_hash=token_hash)
        )

    def by_hash(self, token_hash: str) -> SessionRow | None:
        """Every request of a signed-in person asks this: one statement, built once."""
        t = schema.user_session
        statement = cached_statement(
            ("user_session.by_hash",),
            lambda: select(*(t.c[name] for name in field_names(SessionRow))).where(
                t.c.token_hash == bindparam("token_hash")
            ),
        )
        row = self.conn.execute(statement, {"token_hash": token_hash}).mappings().first()
        return None if row is None else _to(SessionRow, row)

    def remove(self, token_hash: str) -> None:
        self.conn.execute(
            delete(schema.user_session).where(schema.user_session.c.token_hash == token_hash)
        )

    def remove_expired(self, now: datetime) -> int:
        t = schema.user_session
        return self.conn.execute(delete(t).where(t.c.expires_at <= now)).rowcount


def _audit_entry(row: Mapping[Any, Any]) -> AuditEntry:
    return _to(AuditEntry, row)


class AuditRepository:
    def __init__(self, conn: Connection, tenants: TenantRepository) -> None:
        self.conn = conn
        self.tenants = tenants

    def append(self, draft: AuditEntry) -> AuditEntry:
        """Append at the head of the tenant's chain; the given seq and prev_hash are ignored."""
        t = schema.audit_log
        self.tenants.lock(draft.tenant_id)
        last = self.conn.execute(
            select(t.c.seq, t.c.hash)
            .where(t.c.tenant_id == draft.tenant_id)
            .order_by(t.c.seq.desc())
            .limit(1)
        ).first()
        seq, prev_hash = (1, GENESIS_HASH) if last is None else (last.seq + 1, last.hash)
        entry = dataclasses.replace(draft, seq=seq, prev_hash=prev_hash)
        self.conn.execute(
            insert(t).values(id=new_id(), **dataclasses.asdict(entry), hash=entry_hash(entry))
        )
        return entry

    def page(
        self,
        tenant_id: uuid.UUID,
        limit: int,
        cursor: str | None,
        action: str | None = None,
        object_id: str | None = None,
    ) -> Page[tuple[AuditEntry, uuid.UUID, str]]:
        """Newest first, keyset on seq."""
        t = schema.audit_log
        query = select(t).where(t.c.tenant_id == tenant_id)
        if action:
            query = query.where(t.c.action == action)
        if object_id:
            query = query.where(t.c.object_id == object_id)
        if cursor:
            query = query.where(t.c.seq < seq_cursor(cursor))
        rows = self.conn.execute(query.order_by(t.c.seq.desc()).limit(limit + 1)).mappings().all()
        items = [(_audit_entry(row), row["id"], row["hash"]) for row in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
        return Page(items, next_cursor)

    def of_object(
        self, tenant_id: uuid.UUID, object_type: str, object_id: str, limit: int
    ) -> list[AuditEntry]:
        """An object's newest `limit` entries, oldest first (index tenant, object, seq)."""
        t = schema.audit_log
        query = (
            select(t)
            .where(
                t.c.tenant_id == tenant_id,
                t.c.object_id == object_id,
                t.c.object_type == object_type,
            )
            .order_by(t.c.seq.desc())
            .limit(limit)
        )
        rows = self.conn.execute(query).mappings().all()
        return [_audit_entry(row) for row in reversed(rows)]

    def chain(self, tenant_id: uuid.UUID) -> list[tuple[AuditEntry, str]]:
        t = schema.audit_log
        rows = (
            self.conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.seq))
            .mappings()
            .all()
        )
        return [(_audit_entry(row), row["hash"]) for row in rows]


class ClientRepository(TenantRows[Client]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, schema.client, Client)

    def listed(
        self,
        tenant_id: uuid.UUID,
        sort: Sort,
        limit: int,
        cursor: str | None,
        name_contains: str | None = None,
    ) -> Page[Client]:
        """One counted page in `sort` order; `name_contains` matches any case."""
        t = schema.client
        # lower(name) has its own index (tenant_id, lower(name), id): the dashboard's order.
        sorts: dict[str, ColumnElement[Any]] = {
            "name": func.lower(t.c.name),
            "created_at": t.c.created_at,
        }
        conditions = []
        if name_contains:
            lowered = func.lower(t.c.name)
            conditions.append(lowered.contains(name_contains.lower(), autoescape=True))
        return self.sorted(tenant_id, sorts, sort, limit, cursor, *conditions)


R = TypeVar("R")


class RepositorySet:
    """Repositories bound to one transaction's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn


def repository(make: Callable[[Connection], R]) -> cached_property[R]:
    """A RepositorySet member made on first use: a transaction touches a few of
    the thirty or so, and building them all cost more than a trigger's queries."""
    return cached_property(lambda repos: make(repos.conn))


class SqlRepositories(RepositorySet):
    """All repositories over one transaction: the unit of work services see."""

    tenants = repository(TenantRepository)
    users = repository(UserRepository)
    api_keys = repository(ApiKeyRepository)
    sessions = repository(SessionRepository)
    login_throttle = repository(LoginThrottleRepository)
    clients = repository(ClientRepository)
    sites = repository(lambda conn: TenantRows(conn, schema.site, Site))

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.conn, self.tenants)
