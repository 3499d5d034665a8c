"""Endpoint agents and the site enrolment tokens that let them join.

An enrolment token belongs to one site and may enrol many machines until it
expires or is revoked. An agent's key, like the token, is shown once and kept
only as its sha256 (see domain/tokens.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleetward.domain.errors import InvalidInput
from fleetward.domain.listing import Sort

ENROLLMENT_TOKEN_PREFIX = "fwe_"  # noqa: S105 (a prefix, not a secret)
AGENT_KEY_PREFIX = "fwa_"

# last_seen_at is written at most once a minute (services/agents.py), so the
# window must span a few of those touches or a busy agent would flicker offline.
ONLINE_WITHIN = timedelta(seconds=180)

# An agent holding no config says version 0 in its hello; every agent's stored
# version starts above it, so a new agent is always sent its rules, even rules
# made before it enrolled (which raised no version of its).
FIRST_CONFIG_VERSION = 1

# What agent lists filter and sort by; `site` is "client / site", never-seen agents
# sort as seen longest ago. The dashboard lists them by hostname.
AGENT_STATES = ("online", "offline", "revoked")
AGENT_SORTS = ("hostname", "last_seen_at", "os", "site", "created_at")
AGENT_DEFAULT_SORT = Sort("hostname")
# A timeline is in time order, newest first unless asked for oldest first.
TIMELINE_SORTS = ("at",)
TIMELINE_DEFAULT_SORT = Sort("at", descending=True)

TOKEN_HOURS_DEFAULT = 24 * 7
# A site token is a standing credential: make people mint a fresh one rather
# than leave one valid for years.
TOKEN_HOURS_MAX = 24 * 365


@dataclass(frozen=True, slots=True)
class EnrollmentToken:
    id: uuid.UUID
    tenant_id: uuid.UUID
    site_id: uuid.UUID
    name: str
    prefix: str
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class Agent:
    id: uuid.UUID
    tenant_id: uuid.UUID
    site_id: uuid.UUID
    hostname: str
    os: str
    agent_version: str
    config_version: int
    last_seen_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def online(self, now: datetime, within: timedelta = ONLINE_WITHIN) -> bool:
        """Seen recently and still allowed in; a revoked agent is never online."""
        if self.revoked_at is not None or self.last_seen_at is None:
            return False
        return now - self.last_seen_at <= within


def token_expiry(
    now: datetime, expires_at: datetime | None, expires_in_hours: int | None
) -> datetime:
    """When a new token stops working: an explicit time, a number of hours, or a week."""
    if expires_at is not None and expires_in_hours is not None:
        raise InvalidInput(
            "give expires_at or expires_in_hours, not both", field="expires_in_hours"
        )
    if expires_at is None:
        hours = TOKEN_HOURS_DEFAULT if expires_in_hours is None else expires_in_hours
        if not 1 <= hours <= TOKEN_HOURS_MAX:
            raise InvalidInput(
                f"expires_in_hours must be from 1 to {TOKEN_HOURS_MAX}", field="expires_in_hours"
            )
        return now + timedelta(hours=hours)
    if expires_at.tzinfo is None:
        raise InvalidInput("expires_at must carry a time zone", field="expires_at")
    if expires_at <= now:
        raise InvalidInput("expires_at must be in the future", field="expires_at")
    if expires_at - now > timedelta(hours=TOKEN_HOURS_MAX):
        raise InvalidInput(
            f"expires_at must be within {TOKEN_HOURS_MAX // 24} days", field="expires_at"
        )
    return expires_at


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A timeline event as kept: the row id orders events that share a time."""

    id: int
    pc_id: uuid.UUID
    at: datetime
    kind: str
    source: str
    event_record_id: str
    payload: dict[str, object] | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class TimelineFilter:
    """What a person asks of the timeline; empty tuples mean "any"."""

    pc_id: uuid.UUID | None = None
    kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    payload: tuple[tuple[str, str], ...] = ()  # top-level key == value, all must hold
