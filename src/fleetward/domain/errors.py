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


class StorageUnavailable(FleetwardError):
    """The storage failed or stayed busy: nothing was kept, the caller may retry.

    Raised by the storage adapters in place of their driver's errors, so no
    entrypoint needs to know the database library. `detail` is the driver's
    own words, for the log and the operator's CLI, never for an HTTP client
    (it may name hosts or paths).
    """

    code = "storage_unavailable"

    def __init__(self, message: str, detail: str, busy: bool = False) -> None:
        super().__init__(message)
        self.detail = detail
        self.busy = busy  # every connection stayed in use, rather than a failure


class PayloadError(FleetwardError):
    """A sender's body cannot be read as an alert; `field` names what was wrong.

    What every provider normaliser raises, and nothing else. The webhook
    answers 400 with this message and keeps the body in the dead-letter
    table, so the message must tell the sender what to fix.
    """

    code = "bad_request"  # the code every other 400 answers with

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field)
        self.field: str = field


class ProviderApiError(Exception):
    """A provider's API could not do what was asked (after the client's own retries).

    Not a FleetwardError: it is recorded on the integration, sync run or alert
    and never answered to a person as an error of theirs.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after
