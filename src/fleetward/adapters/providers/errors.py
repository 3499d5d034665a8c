"""The one error a normaliser raises: the body cannot be read as an alert."""

from __future__ import annotations

from fleetward.domain.errors import FleetwardError


class PayloadError(FleetwardError):
    """An unparseable or invalid webhook body; `field` names what was wrong.

    The webhook answers 400 with this message and keeps the body in the
    dead-letter table, so the message must tell the sender what to fix.
    """

    code = "bad_request"  # the code every other 400 answers with

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field)
        self.field: str = field
