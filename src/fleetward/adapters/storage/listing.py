"""Sorted, counted pages: the one keyset query every sortable list runs.

A list's query names what it can be sorted by (a column, or an expression such
as lower(name)); the page continues after the last row's (sort value, id), in
the sort's direction, so a later page costs what the first does and rows added
meanwhile are neither repeated nor skipped. The cursor carries the sort it was
made for, so it cannot be replayed against another order. Sort expressions must
not be NULL (wrap a nullable column in coalesce): NULL compares as unknown and
would end the list early.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, Select, and_, func, or_, select

from fleetward.domain.errors import InvalidInput
from fleetward.domain.listing import Sort
from fleetward.domain.pagination import decode_cursor, encode_cursor

_BAD_CURSOR = "cursor is not one this server handed out for this sort order"
_SORT_VALUE = "sort_value"
_INT64 = 2**63


def _cursor_part(value: Any) -> str | int:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | str):
        return value
    return str(value)


def _from_cursor(part: str | int, expression: ColumnElement[Any]) -> Any:
    # A TypeDecorator (UTCDateTime) answers for its stored type through `impl`.
    stored = getattr(expression.type, "impl", expression.type)
    try:
        python_type = stored.python_type
    except NotImplementedError:
        python_type = str
    try:
        if python_type is datetime:
            at = datetime.fromisoformat(str(part))
            if at.tzinfo is None:
                raise ValueError("naive time")
            return at.astimezone(UTC)
        if python_type is int or python_type is bool:
            # Within a 64-bit integer: a larger one fails PostgreSQL's comparison (a 5xx).
            if not isinstance(part, int) or not -_INT64 <= part < _INT64:
                raise ValueError("not a number")
            return part
        if python_type is uuid.UUID:
            return uuid.UUID(str(part))
        return str(part)
    except (ValueError, OverflowError):
        raise InvalidInput(_BAD_CURSOR, field="cursor") from None


def sorted_page(
    conn: Connection,
    query: Select[Any],
    sortable: Mapping[str, ColumnElement[Any]],
    tie: ColumnElement[Any],
    sort: Sort,
    limit: int,
    cursor: str | None,
    count: bool = True,
) -> tuple[Sequence[RowMapping], str | None, int | None]:
    """One page of `query`'s rows in `sort` order, the next cursor and the total.

    `tie` is the row's unique id (a UUID, or an integer key), which orders rows with
    equal sort values. The total counts every row the filters admit (None when
    `count` is false).
    """
    expression = sortable[sort.key]
    total = None
    if count:
        counted = select(func.count()).select_from(query.order_by(None).subquery())
        total = int(conn.execute(counted).scalar_one())
    if cursor:
        parts = decode_cursor(cursor, 3)
        if parts[0] != str(sort):
            raise InvalidInput(_BAD_CURSOR, field="cursor")
        value = _from_cursor(parts[1], expression)
        after_id = _from_cursor(parts[2], tie)  # a UUID, or a row number (the timeline's)
        if sort.descending:
            query = query.where(or_(expression < value, and_(expression == value, tie < after_id)))
        else:
            query = query.where(or_(expression > value, and_(expression == value, tie > after_id)))
    order = [expression.desc(), tie.desc()] if sort.descending else [expression.asc(), tie.asc()]
    query = query.add_columns(expression.label(_SORT_VALUE)).order_by(*order).limit(limit + 1)
    rows = conn.execute(query).mappings().all()
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(
            str(sort), _cursor_part(last[_SORT_VALUE]), _cursor_part(last["id"])
        )
    return rows[:limit], next_cursor, total
