"""Request and response bodies of the REST API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fleetward.domain.identity import Role

T = TypeVar("T")


def _printable(value: str) -> str:
    # NUL and other C0 controls break PostgreSQL text and terminals alike.
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def printable_or_none(value: str | None) -> str | None:
    return None if value is None else _printable(value)


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
LongText = Annotated[str, Field(max_length=10_000), AfterValidator(_printable)]
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_printable)]
Password = Annotated[str, Field(min_length=10, max_length=1024)]
Cursor = Annotated[str, Field(max_length=500)]


class In(BaseModel):
    """Bodies refuse unknown fields, so a typo is an error rather than ignored."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(description="Cursor for the next page, null on the last one")


class ClientIn(In):
    name: Name
    notes: LongText = ""


class ClientPatch(In):
    name: Name | None = None
    notes: LongText | None = None


class ClientOut(Out):
    id: uuid.UUID
    name: str
    notes: str
    created_at: datetime
    updated_at: datetime


class SiteIn(In):
    name: Name
    address: LongText = ""


class SitePatch(In):
    name: Name | None = None
    address: LongText | None = None


class SiteOut(Out):
    id: uuid.UUID
    client_id: uuid.UUID
    name: str
    address: str
    created_at: datetime
    updated_at: datetime


class UserIn(In):
    email: Email
    role: Role
    password: Password
    display_name: Annotated[str, Field(max_length=200), AfterValidator(_printable)] = ""


class UserPatch(In):
    role: Role | None = None
    display_name: Annotated[str, Field(max_length=200), AfterValidator(_printable)] | None = None
    disabled: bool | None = None
    password: Password | None = None


class UserOut(Out):
    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    disabled: bool
    created_at: datetime
    updated_at: datetime


class ApiKeyIn(In):
    name: Name


class ApiKeyOut(Out):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself, shown this once; only its hash is stored")


class AuditEntryOut(BaseModel):
    id: uuid.UUID
    seq: int
    at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    actor_label: str
    action: str
    object_type: str
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class DatabaseHealthOut(BaseModel):
    read: bool
    write: bool
    reason: str | None = Field(description="Why reads or writes fail, in a few words")


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="ok: reads and writes work; degraded: reads work, writes fail (200); "
        "unavailable: reads fail (503)"
    )
    database: DatabaseHealthOut
