"""Query parameters shared by every list endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from fleetward.domain.pagination import MAX_LIMIT
from fleetward.entrypoints.http.schemas import Text

Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description="Page size (default 50)")]
CursorQuery = Annotated[
    Text | None, Query(max_length=500, description="The `next` value of the previous page")
]
# A text filter compared with stored values: NUL would make PostgreSQL fail (a 5xx).
FilterQuery = Annotated[Text | None, Query(max_length=100)]
