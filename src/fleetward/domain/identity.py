"""Who is acting, and what their role lets them do."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from fleetward.domain.errors import Forbidden, InvalidInput


class Role(enum.StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    READONLY = "readonly"


class Access(enum.Enum):
    """What an action needs. Settings (users, keys, audit) are for admins only."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_ALLOWED: dict[Role, frozenset[Access]] = {
    Role.ADMIN: frozenset({Access.READ, Access.WRITE, Access.ADMIN}),
    Role.OPERATOR: frozenset({Access.READ, Access.WRITE}),
    Role.READONLY: frozenset({Access.READ}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated person, acting through a browser session or an API key."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    role: Role
    api_key_id: uuid.UUID | None = None

    def can(self, access: Access) -> bool:
        return access in _ALLOWED[self.role]

    def require(self, access: Access) -> None:
        if not self.can(access):
            raise Forbidden(
                f"role {self.role.value!r} may not do this ({access.value} access needed)"
            )

    @property
    def label(self) -> str:
        return f"{self.email} (api key)" if self.api_key_id else self.email


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_email(email: str) -> str:
    """A light check: the address is used to log in, not to route mail by this code."""
    value = normalize_email(email)
    local, sep, domain = value.partition("@")
    if not sep or not local or "." not in domain or len(value) > 254 or " " in value:
        raise InvalidInput(f"{email!r} is not an e-mail address", field="email")
    return value


MIN_PASSWORD_LENGTH = 10


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > 1024:
        raise InvalidInput("password must be at most 1024 characters", field="password")
