"""Query parameters shared by every list endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from fleetward.domain.pagination import MAX_LIMIT

Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description="Page size (default 50)")]
CursorQuery = Annotated[
    str | None, Query(max_length=500, description="The `next` value of the previous page")
]
