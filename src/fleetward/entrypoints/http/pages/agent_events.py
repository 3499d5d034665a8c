"""An agent's Events tab: its event log read on demand, through the control channel.

The query goes to the agent itself (`agent_control.query_eventlog`), which
answers within 15 s or not at all; an offline agent, a time-out and a failed
query each get a message instead of the table. On Windows the log is a
channel (System, Application, Security ...) and the source a provider; on
Linux the log is a systemd unit or `journal` and the source an identifier.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from fleetward.domain.errors import InvalidInput
from fleetward.domain.eventlog import MinLevel, severity_rank
from fleetward.domain.identity import Access
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import lookups
from fleetward.entrypoints.http.pages.agents import agent_context
from fleetward.entrypoints.http.pages.common import PageRoute, SessionDep, render

router = APIRouter(route_class=PageRoute)

DEFAULT_LIMIT = 100
MAX_LIMIT = 500  # the protocol's (docs/agent-protocol.md, eventlog.query)
WINDOWS_LOGS = ("System", "Application", "Security", "Setup", "ForwardedEvents")
LINUX_LOGS = ("journal", "sshd.service", "systemd-logind.service", "cron.service")
LEVEL_NAMES = {1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
# The channel's errors (AgentOffline 409, AgentTimedOut 504, AgentFailed 502),
# each answered with what a person can do about it.
PROBLEMS = {
    "AgentOffline": "The agent is offline: it is not connected, so it cannot be asked. "
    "Its timeline still shows what it sent before.",
    "AgentTimedOut": "No answer within 15 s: the agent is connected but did not reply in time. "
    "Try a narrower query (a shorter range or a lower limit).",
    "AgentFailed": "The agent could not run the query",
}
NOT_AVAILABLE = (
    "On-demand queries are not available on this server: the agent control channel is not running."
)
PROBLEM_STATUS = {"AgentOffline": 409, "AgentTimedOut": 504, "AgentFailed": 502}


READ_ONLY = (
    "Reading a machine's event log runs a command on it, so operators and admins may do it; "
    "your role can see the timeline."
)


def channel_query(args: dict[str, Any]) -> Any:
    """The query as the control channel takes it.

    Branch `channel` (not yet merged here) passes an EventLogQuery, built by its
    own parser from text; until it lands the protocol's `args` are passed as
    they are. Looked up at call time so this module imports either way.
    """
    try:
        query_type = importlib.import_module("fleetward.domain.agent_config").EventLogQuery
    except (ImportError, AttributeError):
        return args
    return query_type.from_text({key: str(value) for key, value in args.items()})


def control_of(c: Any) -> Any:
    """The control channel's service (`control` on branch `channel`), if this server has one."""
    return getattr(c, "control", None) or getattr(c, "agent_control", None)


@dataclass(frozen=True, slots=True)
class RecordView:
    record: dict[str, Any]
    level: str  # critical .. verbose, for the colour
    first_line: str
    full: str  # the whole record, pretty JSON


def record_view(record: dict[str, Any]) -> RecordView:
    raw_level = record.get("level")
    level = LEVEL_NAMES[severity_rank(raw_level if isinstance(raw_level, int) else 4)]
    message = str(record.get("message") or "").strip()
    if not message and isinstance(record.get("data"), dict):
        # .evtx and some providers carry no rendered text: the data says what happened.
        message = ", ".join(f"{k}={v}" for k, v in list(record["data"].items())[:6])
    first = message.splitlines()[0] if message else ""
    full = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return RecordView(record, level, first[:300], full)


def _query(
    log: str, level: str, event_id: str, source: str, since: str, until: str, limit: str
) -> dict[str, Any]:
    """The eventlog.query arguments of the protocol, from the filter bar."""
    query: dict[str, Any] = {"log": lookups.printable(log.strip(), "log")}
    if level:
        try:
            query["level"] = MinLevel(level).value
        except ValueError:
            raise InvalidInput(
                f"level {level!r} is not one of the choices", field="level"
            ) from None
    if event_id.strip():
        text = event_id.strip()
        if not (text.isascii() and text.isdigit()) or int(text) > 0xFFFF:
            raise InvalidInput("event id must be a number from 0 to 65535", field="event_id")
        query["event_id"] = int(text)
    if source.strip():
        query["source"] = lookups.printable(source.strip(), "source")
    start = lookups.local_to_utc(since, "UTC", "since")
    end = lookups.local_to_utc(until, "UTC", "until")
    if start and end and end <= start:
        raise InvalidInput("until must be after since", field="until")
    if start:
        query["since"] = start.isoformat().replace("+00:00", "Z")
    if end:
        query["until"] = end.isoformat().replace("+00:00", "Z")
    text = limit.strip() or str(DEFAULT_LIMIT)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be from 1 to {MAX_LIMIT}", field="limit")
    query["limit"] = int(text)
    return query


@router.get("/agents/{agent_id}/events")
async def agent_events(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    agent_id: str,
    log: str = "",
    level: str = "",
    event_id: str = "",
    source: str = "",
    since: str = "",
    until: str = "",
    limit: str = "",
) -> Response:
    row = await run_in_threadpool(agent_context, c, session, agent_id)
    windows = row.is_windows
    form = {
        "log": log or ("System" if windows else "journal"),
        "level": level,
        "event_id": event_id if windows else "",
        "source": source,
        "since": since,
        "until": until,
        "limit": limit or str(DEFAULT_LIMIT),
    }
    control = control_of(c)
    may_query = session.principal.can(Access.WRITE)
    records: list[RecordView] | None = None
    error, problem, status_code = None, None, 200
    if control is None:
        problem = NOT_AVAILABLE
    elif not may_query:
        problem = READ_ONLY
    elif log.strip():
        try:
            query = channel_query(_query(**form))
            found = await control.query_eventlog(session.principal, row.id, query)
            records = [record_view(r) for r in found if isinstance(r, dict)]
        except InvalidInput as exc:
            error, status_code = exc.message, 422
        except Exception as exc:
            # Matched by name until the channel's error classes land on this branch.
            name = type(exc).__name__
            if name not in PROBLEMS:
                raise  # anything else: PageRoute shows its page (a FleetwardError) or a 500
            message = getattr(exc, "message", "") or str(exc)
            problem = PROBLEMS[name] + (f": {message}" if name == "AgentFailed" and message else "")
            status_code = PROBLEM_STATUS[name]
    return render(
        request,
        "agent_events.html",
        session,
        status_code,
        error=error,
        row=row,
        tab="events",
        windows=windows,
        form=form,
        logs=WINDOWS_LOGS if windows else LINUX_LOGS,
        levels=list(MinLevel),
        records=records,
        problem=problem,
        asked=bool(log.strip()),
        may_query=may_query and control is not None,
    )
