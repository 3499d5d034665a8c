"""The per-machine timeline: which log entries are moments a person would look for.

Classification pins the provider and the event id together: id 12 is a boot
only from Microsoft-Windows-Kernel-General (Hyper-V-Netvsc, UserModePowerService
and others use 12 for unrelated things). Logons count only for people's
sessions: a real Security log holds hundreds of service logons per human one.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import EventRecord


class TimelineKind(enum.StrEnum):
    LOGON = "logon"
    LOGOFF = "logoff"
    BOOT = "boot"
    SHUTDOWN = "shutdown"
    UNEXPECTED_SHUTDOWN = "unexpected_shutdown"
    SLEEP = "sleep"
    RESUME = "resume"
    AGENT_STARTED = "agent_started"
    AGENT_SELF_UPDATE = "agent_self_update"
    DIAGNOSTIC = "diagnostic"


KNOWN_KINDS = frozenset(k.value for k in TimelineKind)
# Kinds are open-ended: a newer agent may send moments this server has no name
# for, and they are kept and shown as sent. A short lower-case identifier (the
# obs_event.kind column holds 30 characters) keeps them fit for a URL and a CSS class.
KIND_MAX = 30
_KIND = re.compile(rf"[a-z][a-z0-9_.-]{{0,{KIND_MAX - 1}}}")
_SOURCE = re.compile(r"[a-z][a-z0-9_-]*:\S.*")


def timeline_kind(value: object) -> str:
    """`value` as a timeline kind, or InvalidInput naming `kind`; unknown kinds are fine."""
    if isinstance(value, str) and (value in KNOWN_KINDS or _KIND.fullmatch(value)):
        return value
    raise InvalidInput(
        f"kind must be a short identifier (a lower-case letter, then up to {KIND_MAX - 1}"
        " lower-case letters, digits, _ . or -), such as logon or boot",
        field="kind",
    )


@dataclass(frozen=True, slots=True)
class Observation:
    """A timeline moment read from a log, before it is tied to a machine."""

    at: datetime
    kind: str  # a TimelineKind, or one this code has no name for (timeline_kind)
    source: str  # scheme:detail, e.g. winlog:System, journald:systemd-logind
    event_record_id: str | None
    payload: dict[str, Any] | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _checked(self.at, self.source))

    def document(self) -> dict[str, Any]:
        """As an agent sends it to /api/v1/agent/events (docs/agent-protocol.md)."""
        body: dict[str, Any] = {
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "kind": str(self.kind),
            "source": self.source,
            "payload": self.payload,
        }
        if self.event_record_id is not None:
            body["event_record_id"] = self.event_record_id
        return body

    def on(self, pc_id: uuid.UUID) -> TimelineEvent:
        fields = (self.at, self.kind, self.source, self.event_record_id, self.payload)
        return TimelineEvent(pc_id, *fields)


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """As sent and stored: unique per (pc_id, source, event_record_id)."""

    pc_id: uuid.UUID
    at: datetime  # when the source recorded it, UTC
    kind: str  # a TimelineKind, or one this code has no name for
    source: str
    event_record_id: str | None
    payload: dict[str, Any] | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _checked(self.at, self.source))


def _checked(at: datetime, source: str) -> datetime:
    """`at` in UTC, once it and `source` are known to be fit to store."""
    if at.tzinfo is None:
        raise InvalidInput("at must carry a time zone", field="at")
    if not _SOURCE.fullmatch(source):
        raise InvalidInput(f"source {source!r} is not scheme:detail", field="source")
    return at.astimezone(UTC)


# --- Windows ---------------------------------------------------------------

KERNEL_GENERAL = "microsoft-windows-kernel-general"
KERNEL_POWER = "microsoft-windows-kernel-power"
SECURITY_AUDITING = "microsoft-windows-security-auditing"
WINLOGON = "microsoft-windows-winlogon"

# (provider, event id) -> kind; providers folded, since Windows compares them
# case-insensitively (the fixtures hold both "User32" and "USER32").
# Not mapped, on purpose: EventLog 6005/6006/6008 and User32 1074 would repeat
# the boot and shutdowns below; Security 4647 repeats 4634; and
# Microsoft-Windows-Power-Troubleshooter 1 repeats Kernel-Power 107 on every
# resume (Windows writes both), so only Kernel-Power 107 counts as a resume.
WINDOWS_KINDS: dict[tuple[str, int], TimelineKind] = {
    (KERNEL_GENERAL, 12): TimelineKind.BOOT,
    (KERNEL_GENERAL, 13): TimelineKind.SHUTDOWN,
    (KERNEL_POWER, 41): TimelineKind.UNEXPECTED_SHUTDOWN,
    (KERNEL_POWER, 42): TimelineKind.SLEEP,
    (KERNEL_POWER, 107): TimelineKind.RESUME,
    (SECURITY_AUDITING, 4624): TimelineKind.LOGON,
    (SECURITY_AUDITING, 4634): TimelineKind.LOGOFF,
    (WINLOGON, 7001): TimelineKind.LOGON,
    (WINLOGON, 7002): TimelineKind.LOGOFF,
}

# 2 interactive, 10 remote interactive (RDP), 11 cached interactive. Not 3
# network, 4 batch, 5 service, 7 unlock or 8/9 network-cleartext/new-credentials.
HUMAN_LOGON_TYPES = frozenset({2, 10, 11})
SERVICE_ACCOUNTS = frozenset({"system", "local service", "network service", "anonymous logon"})
# Session-manager accounts that log on "interactively" for every desktop session.
MACHINE_PREFIXES = ("dwm-", "umfd-")
# The same accounts by SID, so a localised Windows ("NETZWERKDIENST") is caught too:
# anonymous, SYSTEM, LOCAL SERVICE, NETWORK SERVICE; then Window Manager and
# Font Driver Host virtual accounts.
SERVICE_SIDS = frozenset({"S-1-5-7", "S-1-5-18", "S-1-5-19", "S-1-5-20"})
MACHINE_SID_PREFIXES = ("S-1-5-90-", "S-1-5-96-")
# %%1842 / %%1843 are Windows' message-table strings for "Yes" / "No".
_YES_NO = {"%%1842": True, "%%1843": False}


def _detail(text: str) -> str:  # one line, never empty: the store keys on it
    return " ".join(text.split()) or "unknown"


def _int(value: str | None) -> int | None:
    try:
        return int(value, 0) if value is not None else None
    except ValueError:
        return None


def _service_sid(sid: str | None) -> bool:
    sid = (sid or "").upper()
    return sid in SERVICE_SIDS or sid.startswith(MACHINE_SID_PREFIXES)


def is_human_session(data: dict[str, str]) -> bool:
    """Whether 4624/4634 event data describe a person's session, not a service's."""
    if _int(data.get("LogonType")) not in HUMAN_LOGON_TYPES:
        return False
    user = data.get("TargetUserName", "").strip()
    folded = user.casefold()
    if not user or user == "-" or folded in SERVICE_ACCOUNTS or user.endswith("$"):
        return False
    return not folded.startswith(MACHINE_PREFIXES) and not _service_sid(data.get("TargetUserSid"))


def _present(data: dict[str, str], key: str) -> str | None:
    value = data.get(key, "").strip()
    return value if value and value != "-" else None


def _security_payload(data: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "user": data.get("TargetUserName", ""),
        "domain": data.get("TargetDomainName", ""),
        "logon_type": _int(data.get("LogonType")),
        "logon_id": data.get("TargetLogonId", ""),
    }
    optional = {
        "user_sid": _present(data, "TargetUserSid"),
        "ip_address": _present(data, "IpAddress"),
        "logon_process": _present(data, "LogonProcessName"),
        "elevated": _YES_NO.get(data.get("ElevatedToken", "")),
    }
    # With UAC an administrator's logon is two 4624s, one elevated: the linked
    # id lets a view fold the pair into one logon.
    linked = _present(data, "TargetLinkedLogonId")
    if linked and _int(linked) != 0:
        optional["linked_logon_id"] = linked
    payload.update({k: v for k, v in optional.items() if v is not None})
    return payload


def classify(record: EventRecord) -> Observation | None:
    """The timeline moment `record` is, or None if it is none of them."""
    provider = record.provider.casefold()
    kind = WINDOWS_KINDS.get((provider, record.event_id))
    if kind is None:
        return None
    payload: dict[str, Any] = {"provider": record.provider, "event_id": record.event_id}
    if provider == SECURITY_AUDITING:
        if not is_human_session(record.data):
            return None
        payload.update(_security_payload(record.data))
    elif provider == WINLOGON:
        sid = record.data.get("UserSid")
        if _service_sid(sid):
            return None
        payload.update({"user_sid": sid, "session": _int(record.data.get("TSId"))})
    else:
        payload["data"] = dict(record.data)
    return Observation(
        at=record.time_created,
        kind=kind,
        source=f"winlog:{_detail(record.log_name)}",
        event_record_id=record.record_id,
        payload=payload,
    )


# --- Linux journald (`journalctl -o json` entries) -------------------------

# systemd's catalogue ids: the same across versions and languages, while the
# texts change (logind 256 says "New session '3' of user 'alice' with class ...").
SESSION_START = "8d45620c1a4348dbb17410da57c60c66"  # logind: New session 3 of user alice.
SESSION_STOP = "3354939424b4456d9802ca8333ed424a"  # logind: Removed session 3.
SHUTDOWN = "98268866d1d54a499c4e98921d93bc40"  # logind: System is powering down. / rebooting.
SLEEP_START = "6bbd95ee977941e497c48be27c254128"  # systemd-sleep: Suspending system...
SLEEP_STOP = "8811e6df2a8e40f58a94cea26f8ebf14"  # systemd-sleep: System resumed.
JOURNAL_KINDS = {
    SESSION_START: TimelineKind.LOGON,
    SESSION_STOP: TimelineKind.LOGOFF,
    SHUTDOWN: TimelineKind.SHUTDOWN,
    SLEEP_START: TimelineKind.SLEEP,
    SLEEP_STOP: TimelineKind.RESUME,
}
# Entries without a MESSAGE_ID (forwarded syslog, elogind) are matched on text,
# but only from the programs that write these lines.
SYSTEMD_IDENTIFIERS = frozenset({"systemd-logind", "elogind", "systemd-sleep"})
JOURNAL_TEXTS: dict[TimelineKind, tuple[str, ...]] = {
    TimelineKind.LOGON: ("New session ",),
    TimelineKind.LOGOFF: ("Removed session ",),
    TimelineKind.SHUTDOWN: ("System is powering down", "System is rebooting", "System is halting"),
    TimelineKind.SLEEP: ("Suspending system", "Entering sleep state", "Performing sleep"),
    TimelineKind.RESUME: ("System resumed", "System returned from sleep"),
}
# The kernel's first line of every boot; the realtime clock journald gives it
# is the boot's. Lost only if the ring buffer overflowed before journald ran.
KERNEL_BOOT_PREFIX = "Linux version "
_NEW_SESSION = re.compile(r"New session '?([^' ]+?)'? of user '?([^' ]+?)'?(?: with |\.?$)")
_REMOVED_SESSION = re.compile(r"Removed session '?([^' ]+?)'?\.?$")


def _field(entry: Mapping[str, Any], key: str) -> str | None:
    """A journal field as text: journalctl writes binary values as byte arrays
    and a field repeated in one entry as a list (the first one wins here)."""
    value = entry.get(key)
    if isinstance(value, list) and value and not all(isinstance(b, int) for b in value):
        value = value[0]
    if isinstance(value, list):
        try:
            return bytes(value).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return None
    return value if isinstance(value, str) else None


def _journal_time(entry: Mapping[str, Any]) -> datetime | None:
    # The sender's clock when it logged, else journald's when it received.
    for key in ("_SOURCE_REALTIME_TIMESTAMP", "__REALTIME_TIMESTAMP"):
        micros = _int(_field(entry, key))
        if micros is not None:
            try:
                return datetime.fromtimestamp(micros / 1_000_000, UTC)
            except (OverflowError, OSError, ValueError):
                return None
    return None


def _journal_kind(entry: Mapping[str, Any], ident: str, message: str) -> TimelineKind | None:
    kind = JOURNAL_KINDS.get((_field(entry, "MESSAGE_ID") or "").replace("-", "").lower())
    if kind is not None:
        return kind
    if ident == "kernel" and message.startswith(KERNEL_BOOT_PREFIX):
        return TimelineKind.BOOT
    if ident in SYSTEMD_IDENTIFIERS:
        return next((k for k, texts in JOURNAL_TEXTS.items() if message.startswith(texts)), None)
    return None


def classify_journal(entry: Mapping[str, Any]) -> Observation | None:
    """The timeline moment a journald entry is, or None if it is none of them."""
    ident = _field(entry, "SYSLOG_IDENTIFIER") or _field(entry, "_SYSTEMD_UNIT") or "unknown"
    message = (_field(entry, "MESSAGE") or "").strip()
    kind = _journal_kind(entry, ident, message)
    at = _journal_time(entry)
    if kind is None or at is None:
        return None
    payload: dict[str, Any] = {"message": message}
    if kind in (TimelineKind.LOGON, TimelineKind.LOGOFF):
        # Cron jobs, greeters and user managers open sessions too. Newer logind
        # names the class, and logs background sessions (opening and closing)
        # at debug level; older ones do neither, and then every session counts.
        session_class = _field(entry, "CLASS")
        if _field(entry, "PRIORITY") == "7" or not (session_class or "user").startswith("user"):
            return None
        found = (_NEW_SESSION if kind is TimelineKind.LOGON else _REMOVED_SESSION).search(message)
        session = _field(entry, "SESSION_ID") or (found.group(1) if found else None)
        user = _field(entry, "USER_ID") or (
            found.group(2) if found and kind is TimelineKind.LOGON else None
        )
        payload.update({"session_id": session, "user": user})
        if session_class is not None:
            payload["session_class"] = session_class
    elif kind is TimelineKind.BOOT:
        payload["kernel"] = message.removeprefix(KERNEL_BOOT_PREFIX).split(" ", 1)[0]
    if boot_id := _field(entry, "_BOOT_ID"):
        payload["boot_id"] = boot_id
    return Observation(
        at=at,
        kind=kind,
        source=f"journald:{_detail(ident)}",
        event_record_id=_field(entry, "__CURSOR"),
        payload=payload,
    )
