"""Tenants, the people in them, and the customer organisations they look after."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from fleetward.domain.errors import InvalidInput
from fleetward.domain.identity import Role
from fleetward.domain.listing import Sort

NAME_MAX = 200


@dataclass(frozen=True, slots=True)
class Tenant:
    id: uuid.UUID
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    display_name: str
    role: Role
    disabled: bool
    created_at: datetime
    updated_at: datetime
    time_zone: str = ""  # IANA name; empty: the browser's (domain/display_time.py)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Client:
    """A customer organisation of the MSP."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    notes: str
    created_at: datetime
    updated_at: datetime


# What client lists sort by. The API's default is the order clients were made in;
# the dashboard's is by name, as a person looks one up.
CLIENT_SORTS = ("name", "created_at")
CLIENT_DEFAULT_SORT = Sort("created_at")
CLIENT_PAGE_SORT = Sort("name")


@dataclass(frozen=True, slots=True)
class Site:
    """A place a client has machines at; agents enrol per site."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    name: str
    address: str
    created_at: datetime
    updated_at: datetime


def clean_name(value: str, field: str = "name") -> str:
    """Names are trimmed and must say something; they show in lists and tickets."""
    name = " ".join(value.split())
    if not name:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(name) > NAME_MAX:
        raise InvalidInput(f"{field} must be at most {NAME_MAX} characters", field=field)
    return name
