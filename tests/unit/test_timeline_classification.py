"""Timeline classification on real Windows event logs and on journald entries.

What a person would notice: a boot is a boot only when the kernel says so,
and the Security log's hundreds of service logons do not bury the few
people who actually logged on.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import uuid
import zlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import EventRecord
from fleetward.domain.timeline import (
    WINDOWS_KINDS,
    Observation,
    TimelineEvent,
    TimelineKind,
    classify,
    classify_journal,
)
from fleetward.evtx_reader import read_evtx
from tests.support.components import evtx_fixtures

FIXTURES = evtx_fixtures()
SYSTEM_LOGS = [
    "omerbenamram-evtx_sample-with-zero-data-size-event.evtx",
    "omerbenamram-evtx_system.evtx",
    "python-evtx_system.evtx",
]
SECURITY_LOGS = [
    "omerbenamram-evtx_Security_with_size_t.evtx",
    "plaso_System2.evtx",  # a Security log despite its name
    "velocidex-evtx_Security.evtx",
]
AUDITING = "Microsoft-Windows-Security-Auditing"


@functools.cache
def records(name: str) -> tuple[EventRecord, ...]:
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"the .evtx fixture {name}" + " is missing from tests/fixtures/evtx")
    return tuple(r for r in read_evtx(path) if isinstance(r, EventRecord))


def observed(name: str) -> list[tuple[EventRecord, Observation]]:
    return [(r, o) for r in records(name) if (o := classify(r)) is not None]


@pytest.mark.parametrize("name", SYSTEM_LOGS + SECURITY_LOGS)
def test_only_the_pinned_provider_and_id_pairs_are_moments(name: str) -> None:
    found = observed(name)
    print(f"\n{name}: {len(records(name))} records,", collections.Counter(o.kind for _, o in found))
    for record, observation in found:
        assert WINDOWS_KINDS[(record.provider.casefold(), record.event_id)] is observation.kind
        assert observation.source == f"winlog:{record.log_name}"
        assert observation.event_record_id == record.record_id
        assert observation.at == record.time_created
    # Boots, shutdowns and power events have no further condition: all of them show.
    power = {
        r.record_id
        for r in records(name)
        if r.provider.startswith("Microsoft-Windows-Kernel-")
        and (r.provider.casefold(), r.event_id) in WINDOWS_KINDS
    }
    assert power == {r.record_id for r, _ in found if r.provider.startswith("Microsoft-Windows-K")}


def test_event_id_12_is_a_boot_only_from_kernel_general() -> None:
    twelves = [r for name in SYSTEM_LOGS for r in records(name) if r.event_id == 12]
    kernel = [r for r in twelves if r.provider == "Microsoft-Windows-Kernel-General"]
    others = [r for r in twelves if r.provider != "Microsoft-Windows-Kernel-General"]
    print("\nid 12 from:", collections.Counter(r.provider for r in twelves))
    assert kernel and others  # both kinds are in the real logs
    boots = [classify(r) for r in kernel]
    assert all(o is not None and o.kind is TimelineKind.BOOT for o in boots)
    assert all(classify(r) is None for r in others)
    # Kernel-General 12 says when the kernel started.
    assert all(o and o.payload and o.payload["data"]["StartTime"] for o in boots)


def human_logons(name: str, kind: TimelineKind = TimelineKind.LOGON) -> list[dict[str, Any]]:
    return [
        o.payload
        for r, o in observed(name)
        if o.kind is kind and r.provider == AUDITING and o.payload is not None
    ]


@pytest.mark.parametrize(
    ("name", "people"),
    [
        ("omerbenamram-evtx_Security_with_size_t.evtx", {"Administrator"}),
        ("plaso_System2.evtx", {"gold_administrator"}),
        ("velocidex-evtx_Security.evtx", {"user", "test"}),
    ],
)
def test_security_logs_show_people_not_services(name: str, people: set[str]) -> None:
    logons = [r for r in records(name) if r.event_id == 4624]
    shown = human_logons(name)
    print(f"\n{name}: {len(logons)} logons (4624), {len(shown)} by people:")
    for p in shown:
        print(f"  {p['domain']}\\{p['user']} type {p['logon_type']} id {p['logon_id']}")
    assert shown and len(shown) <= len(logons) // 4
    assert {p["user"] for p in shown} == people
    for p in shown:
        assert p["logon_type"] in {2, 10, 11}
        assert p["user"].upper() not in {"SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE"}
        assert not p["user"].endswith("$")
        assert not p["user"].upper().startswith(("DWM-", "UMFD-", "ANONYMOUS"))
        assert p["domain"] and p["logon_id"].startswith("0x")
    # What was left out is there in the file: service, network and unlock logons.
    left_out = collections.Counter(r.data.get("LogonType") for r in logons) - collections.Counter(
        str(p["logon_type"]) for p in shown
    )
    assert left_out["5"] >= 20


def test_hundreds_of_service_logons_give_way_to_a_few_human_ones() -> None:
    logons = sum(1 for name in SECURITY_LOGS for r in records(name) if r.event_id == 4624)
    shown = sum(len(human_logons(name)) for name in SECURITY_LOGS)
    assert logons - shown >= 300 and shown >= 20


def test_window_manager_font_host_and_unlocks_are_not_logons() -> None:
    velocidex = [r for r in records("velocidex-evtx_Security.evtx") if r.event_id == 4624]
    machine = [r for r in velocidex if r.data["TargetUserName"].startswith(("DWM-", "UMFD-"))]
    assert machine and all(r.data["LogonType"] == "2" for r in machine)  # "interactive", yet
    assert all(classify(r) is None for r in machine)
    size_t = records("omerbenamram-evtx_Security_with_size_t.evtx")
    unlocks = [r for r in size_t if r.event_id in (4624, 4634) and r.data["LogonType"] == "7"]
    assert unlocks and all(r.data["TargetUserName"] == "Administrator" for r in unlocks)
    assert all(classify(r) is None for r in unlocks)


@pytest.mark.parametrize("name", SECURITY_LOGS)
def test_every_logoff_of_a_person_closes_a_logon_shown(name: str) -> None:
    opened = {p["logon_id"] for p in human_logons(name)}
    closed = human_logons(name, TimelineKind.LOGOFF)
    assert all(p["logon_id"] in opened and p["user"] and p["domain"] for p in closed)
    assert all(p["logon_type"] in {2, 10, 11} for p in closed)


def test_an_elevated_twin_logon_names_its_pair() -> None:
    test_user = [p for p in human_logons("velocidex-evtx_Security.evtx") if p["user"] == "test"]
    # UAC gives an administrator two linked sessions; the payload lets a view fold them.
    assert len(test_user) == 2
    first, second = test_user
    assert first["linked_logon_id"] == second["logon_id"]
    assert second["linked_logon_id"] == first["logon_id"]
    assert {first["elevated"], second["elevated"]} == {True, False}


@pytest.mark.parametrize("name", SYSTEM_LOGS)
def test_winlogon_sessions_are_logons_and_logoffs(name: str) -> None:
    winlogon = [r for r in records(name) if r.provider == "Microsoft-Windows-Winlogon"]
    expected = [r for r in winlogon if r.event_id in (7001, 7002)]
    shown = [(r, o) for r, o in observed(name) if r.provider == "Microsoft-Windows-Winlogon"]
    assert [r for r, _ in shown] == expected and expected
    for record, observation in shown:
        kind = TimelineKind.LOGON if record.event_id == 7001 else TimelineKind.LOGOFF
        assert observation.kind is kind
        assert observation.payload is not None
        assert observation.payload["user_sid"].startswith("S-1-5-21-")
        assert isinstance(observation.payload["session"], int)


def test_power_events() -> None:
    crashes = [
        o
        for r, o in observed("python-evtx_system.evtx")
        if o.kind is TimelineKind.UNEXPECTED_SHUTDOWN
    ]
    forty_ones = [
        r
        for r in records("python-evtx_system.evtx")
        if (r.provider, r.event_id) == ("Microsoft-Windows-Kernel-Power", 41)
    ]
    assert len(crashes) == len(forty_ones) > 0
    assert all(o.payload and "BugcheckCode" in o.payload["data"] for o in crashes)
    kinds = [o.kind for _, o in observed("omerbenamram-evtx_system.evtx")]
    assert kinds.count(TimelineKind.SLEEP) == kinds.count(TimelineKind.RESUME) > 0


def logon(logon_type: str, user: str, sid: str = "S-1-5-21-1-2-3-1001") -> EventRecord:
    data = {"LogonType": logon_type, "TargetUserName": user, "TargetUserSid": sid}
    return EventRecord(
        "Security", AUDITING, 4624, 0, "9", datetime(2024, 5, 6, tzinfo=UTC), data=data
    )


def test_remote_and_cached_logons_count_and_localised_service_accounts_do_not() -> None:
    # The fixtures only hold type 2: RDP (10) and cached (11) logons, built here.
    for logon_type in ("2", "10", "11"):
        shown = classify(logon(logon_type, "alice"))
        assert (
            shown is not None and shown.payload and shown.payload["logon_type"] == int(logon_type)
        )
    for logon_type in ("3", "4", "5", "7", "8", "9", "", "x"):
        assert classify(logon(logon_type, "alice")) is None
    # A German Windows names NETWORK SERVICE "NETZWERKDIENST"; its SID gives it away.
    assert classify(logon("2", "NETZWERKDIENST", "S-1-5-20")) is None
    assert classify(logon("10", "WKS-07$")) is None
    assert classify(logon("2", "dwm-3", "S-1-5-90-0-3")) is None


def test_classification_is_deterministic() -> None:
    everything = [r for name in SYSTEM_LOGS + SECURITY_LOGS for r in records(name)]
    first = [classify(r) for r in everything]
    assert first == [classify(dataclasses.replace(r)) for r in everything]


def test_a_timeline_event_is_tied_to_its_machine() -> None:
    _, observation = observed("python-evtx_system.evtx")[0]
    pc = uuid.uuid4()
    event = observation.on(pc)
    assert (event.pc_id, event.kind, event.source) == (pc, observation.kind, "winlog:System")
    with pytest.raises(InvalidInput):
        TimelineEvent(pc, datetime(2024, 1, 1), TimelineKind.BOOT, "winlog:System", None, None)
    with pytest.raises(InvalidInput):
        TimelineEvent(pc, datetime(2024, 1, 1, tzinfo=UTC), TimelineKind.BOOT, "System", None, None)


PINNED_PROVIDERS = [*sorted({provider for provider, _ in WINDOWS_KINDS}), "Hyper-V-Netvsc"]
DATA_VALUES = [
    "2",
    "10",
    "0x2",
    "alice",
    "DWM-1",
    "S-1-5-18",
    "S-1-5-21-1-2-3-1001",
    "0x0",
    "%%1842",
]
DATA_KEYS = ["LogonType", "TargetUserName", "TargetUserSid", "TargetLogonId", "UserSid", "TSId"]


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        EventRecord,
        log_name=st.text(),
        provider=st.sampled_from(PINNED_PROVIDERS) | st.text(),
        event_id=st.sampled_from(sorted({i for _, i in WINDOWS_KINDS})) | st.integers(),
        level=st.integers(),
        record_id=st.text(),
        time_created=st.datetimes(
            min_value=datetime(1601, 1, 2),
            max_value=datetime(9999, 12, 30),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=-12))]),
        ),
        data=st.dictionaries(
            st.sampled_from(DATA_KEYS) | st.text(), st.sampled_from(DATA_VALUES) | st.text()
        ),
    )
)
def test_classify_never_raises(record: EventRecord) -> None:
    observation = classify(record)
    assert observation is None or observation.kind in set(WINDOWS_KINDS.values())


# --- journald ----------------------------------------------------------------


def entry(message: str, identifier: str = "systemd-logind", **fields: Any) -> dict[str, Any]:
    """As `journalctl -o json` writes one: every value a string."""
    return {
        "__CURSOR": f"s=6f1b;i={zlib.crc32(message.encode()):x};b=4a9c;m=1a2b;t=5f0c;x=77",
        "__REALTIME_TIMESTAMP": "1700000000123456",
        "_BOOT_ID": "4a9c0f2e8b1d4e7f9a3b5c6d7e8f9012",
        "PRIORITY": "6",
        "SYSLOG_IDENTIFIER": identifier,
        "MESSAGE": message,
        **fields,
    }


# systemd's catalogue ids, as sd-messages.h defines them.
START, STOP = "8d45620c1a4348dbb17410da57c60c66", "3354939424b4456d9802ca8333ed424a"
DOWN, SLEEP, WAKE = (
    "98268866d1d54a499c4e98921d93bc40",
    "6bbd95ee977941e497c48be27c254128",
    "8811e6df2a8e40f58a94cea26f8ebf14",
)
LOGON, LOGOFF = TimelineKind.LOGON, TimelineKind.LOGOFF
SLEEP_KIND, RESUME = TimelineKind.SLEEP, TimelineKind.RESUME
SLEEPD = "systemd-sleep"
KERNEL_LINE = "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12)"
SYSTEMD_256 = "New session '7' of user 'bob' with class 'user' and type 'wayland'."


@pytest.mark.parametrize(
    ("given_entry", "kind", "payload"),
    [
        (
            entry(
                "New session 3 of user alice.", MESSAGE_ID=START, SESSION_ID="3", USER_ID="alice"
            ),
            LOGON,
            {"session_id": "3", "user": "alice"},
        ),
        # systemd 256 words it differently; the catalogue id is the same.
        (
            entry(SYSTEMD_256, MESSAGE_ID=START, SESSION_ID="7", USER_ID="bob", CLASS="user"),
            LOGON,
            {"session_id": "7", "user": "bob", "session_class": "user"},
        ),
        # No MESSAGE_ID (forwarded syslog): the text is enough.
        (entry("New session 12 of user carol."), LOGON, {"session_id": "12", "user": "carol"}),
        (
            entry("Removed session 3.", MESSAGE_ID=STOP, SESSION_ID="3", USER_ID="alice"),
            LOGOFF,
            {"session_id": "3", "user": "alice"},
        ),
        (entry("Removed session 12."), LOGOFF, {"session_id": "12", "user": None}),
        (entry(KERNEL_LINE, "kernel"), TimelineKind.BOOT, {"kernel": "6.1.0-18-amd64"}),
        (entry("System is powering down.", MESSAGE_ID=DOWN), TimelineKind.SHUTDOWN, {}),
        (entry("System is rebooting."), TimelineKind.SHUTDOWN, {}),
        (entry("Entering sleep state 'suspend'...", SLEEPD, MESSAGE_ID=SLEEP), SLEEP_KIND, {}),
        (entry("Suspending system...", SLEEPD), SLEEP_KIND, {}),
        (entry("System returned from sleep state.", SLEEPD, MESSAGE_ID=WAKE), RESUME, {}),
        (entry("System resumed.", SLEEPD), RESUME, {}),
    ],
)
def test_journal_entries(
    given_entry: dict[str, Any], kind: TimelineKind, payload: dict[str, Any]
) -> None:
    observation = classify_journal(given_entry)
    assert observation is not None and observation.kind is kind
    assert observation.source == f"journald:{given_entry['SYSLOG_IDENTIFIER']}"
    assert observation.event_record_id == given_entry["__CURSOR"]
    assert observation.at == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert observation.payload is not None
    assert payload.items() <= observation.payload.items()
    assert observation.payload["boot_id"] == given_entry["_BOOT_ID"]


@pytest.mark.parametrize(
    "given_entry",
    [
        # A cron job's session is not a person's.
        entry("New session c1 of user root.", MESSAGE_ID=START, USER_ID="root", CLASS="background"),
        entry("New session 3 of user gdm.", MESSAGE_ID=START, CLASS="greeter"),
        # Only logind and systemd-sleep are believed on their words.
        entry("New session 3 of user mallory.", "myapp"),
        entry("System is powering down.", "myapp"),
        entry("Linux version 6.1.0", "myapp"),
        entry("Started Session 3 of User alice.", "systemd"),
        {**entry("System resumed.", "systemd-sleep"), "__REALTIME_TIMESTAMP": None},
        # Newer logind logs background sessions at debug level, closing ones included.
        entry("Removed session c2.", MESSAGE_ID=STOP, PRIORITY="7"),
    ],
)
def test_journal_entries_that_are_not_moments(given_entry: dict[str, Any]) -> None:
    assert classify_journal(given_entry) is None


def test_journal_source_falls_back_to_the_unit_and_binary_fields_are_read() -> None:
    found = classify_journal(
        {
            "__CURSOR": "s=1;i=2",
            "__REALTIME_TIMESTAMP": "1700000000000000",
            "_SYSTEMD_UNIT": "systemd-logind.service",
            "MESSAGE_ID": START,
            "MESSAGE": list(b"New session 4 of user dave."),  # journalctl's byte array
        }
    )
    assert found is not None and found.source == "journald:systemd-logind.service"
    assert found.payload is not None and found.payload["user"] == "dave"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=8,
)
JOURNAL_KEYS = ["MESSAGE", "MESSAGE_ID", "SYSLOG_IDENTIFIER", "__REALTIME_TIMESTAMP", "CLASS"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(JOURNAL_KEYS) | st.text(), JSON))
def test_classify_journal_never_raises(given_entry: dict[str, Any]) -> None:
    given_entry.setdefault("__REALTIME_TIMESTAMP", "1700000000000000")
    classify_journal(given_entry)
