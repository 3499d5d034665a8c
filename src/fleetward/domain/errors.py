"""Errors the domain and services raise; entrypoints map them to HTTP or CLI."""

from __future__ import annotations


class FleetwardError(Exception):
    code = "error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(FleetwardError):
    code = "not_found"


class Forbidden(FleetwardError):
    code = "forbidden"


class Unauthenticated(FleetwardError):
    code = "unauthenticated"


class Conflict(FleetwardError):
    code = "conflict"


class InvalidInput(FleetwardError):
    code = "invalid"


class RateLimited(FleetwardError):
    code = "rate_limited"
