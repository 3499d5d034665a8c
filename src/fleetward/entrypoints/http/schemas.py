"""Request and response bodies of the REST API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fleetward.domain.identity import Role
from fleetward.domain.text import SURROGATE, line_feeds, text_problem

T = TypeVar("T")


def _one_line(value: str) -> str:
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


def _long_text(value: str) -> str:
    value = line_feeds(value)
    if problem := text_problem(value, long_text=True):
        raise ValueError(problem)
    return value


def _valid_unicode(value: str) -> str:
    if SURROGATE.search(value):
        raise ValueError("must be valid Unicode (it holds a lone surrogate, such as \\ud800)")
    return value


def _text_strings(value: Any, where: str = "") -> None:
    if isinstance(value, str):
        if problem := text_problem(value):
            raise ValueError(f"{where}: {problem}" if where else problem)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _text_strings(item, f"{where}.{index}" if where else str(index))
    elif isinstance(value, dict):
        for key, item in value.items():
            _text_strings(key, where)
            _text_strings(item, f"{where}.{key}" if where else str(key))


def _text_json(value: dict[str, Any]) -> dict[str, Any]:
    _text_strings(value)
    return value


# Every string the API takes is one of these (domain/text.py says why); a field
# adds its own length, e.g. Annotated[Text, Field(max_length=200)]. A value that
# breaks the rule is a 422 naming the field.
Text = Annotated[str, AfterValidator(_one_line)]
"""One line: no control characters (tabs and line breaks included), no NUL, no lone
surrogates."""
MultiLine = Annotated[str, AfterValidator(_long_text)]
"""Tabs and line breaks allowed (CRLF and CR kept as LF); otherwise as Text."""
LongText = Annotated[MultiLine, Field(max_length=10_000)]
TextJson = Annotated[dict[str, Any], AfterValidator(_text_json)]
"""A JSON object whose strings, keys included, are all Text (settings and the like)."""

Name = Annotated[Text, Field(min_length=1, max_length=200)]
Email = Annotated[Text, Field(min_length=3, max_length=254)]
# Passwords are hashed, never stored or shown: any character is fine, but a lone
# surrogate cannot be encoded to be hashed.
Password = Annotated[str, Field(min_length=10, max_length=1024), AfterValidator(_valid_unicode)]
Cursor = Annotated[Text, Field(max_length=500)]


class In(BaseModel):
    """Bodies refuse unknown fields, so a typo is an error rather than ignored."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(description="Cursor for the next page, null on the last one")
    total: int | None = Field(
        default=None, description="How many items match the filters, on lists that count them"
    )


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
    display_name: Annotated[Text, Field(max_length=200)] = ""


class UserPatch(In):
    role: Role | None = None
    display_name: Annotated[Text, Field(max_length=200)] | None = None
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
