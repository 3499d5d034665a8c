"""An agent's Events tab: its event log read on demand, through the control channel.

The query goes to the agent itself (`control.query_eventlog`), which
answers within 15 s or not at all; an offline agent, a time-out and a failed
query each get a message instead of the table. On Windows the log is a
channel (System, Application, Security ...) and the source a provider; on
Linux the log is a systemd unit or `journal` and the source an identifier.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from fleetward.bootstrap import Container
from fleetward.domain.agent_config import QUERY_LIMIT_DEFAULT, EventLogQuery
from fleetward.domain.errors import FleetwardError, InvalidInput, RateLimited
from fleetward.domain.eventlog import MinLevel, is_journal_log, severity_rank
from fleetward.domain.identity import Access
from fleetward.domain.insertion_strings import resolve, resolve_data
from fleetward.entrypoints.http.deps import ContainerDep
from fleetward.entrypoints.http.pages import lookups
from fleetward.entrypoints.http.pages.agents import agent_context
from fleetward.entrypoints.http.pages.common import (
    FormSessionDep,
    PageRoute,
    SessionDep,
    reader_zone,
    render,
)
from fleetward.services.agent_control import AgentFailed, AgentOffline, AgentTimedOut
from fleetward.services.identity import SessionInfo

router = APIRouter(route_class=PageRoute)

WINDOWS_LOGS = ("System", "Application", "Security", "Setup", "ForwardedEvents")
LINUX_LOGS = ("journal", "sshd.service", "systemd-logind.service", "cron.service")
LEVEL_NAMES = {1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
# The channel's failures, each answered with what a person can do about it.
PROBLEMS: dict[type[FleetwardError], tuple[str, int]] = {
    AgentOffline: (
        "The agent is offline: it is not connected, so it cannot be asked. "
        "Its timeline still shows what it sent before.",
        409,
    ),
    AgentTimedOut: (
        "No answer within 15 s: the agent is connected but did not reply in time. "
        "Try a narrower query (a shorter range or a lower limit).",
        504,
    ),
    AgentFailed: ("The agent could not run the query", 502),
    RateLimited: ("The agent is busy with other queries: try again in a moment.", 429),
}
READ_ONLY = (
    "Reading a machine's event log runs a command on it, so operators and admins may do it; "
    "your role can see the timeline."
)


@dataclass(frozen=True, slots=True)
class RecordView:
    record: dict[str, Any]
    level: str  # critical .. verbose, for the colour
    first_line: str
    full: str  # the whole record, pretty JSON
    at: datetime | None  # time_created, when the agent sent a readable one


def _time_created(value: object) -> datetime | None:
    """The record's time as sent (ISO 8601, UTC), for the reader's clock; None if not."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def record_view(record: dict[str, Any]) -> RecordView:
    raw_level = record.get("level")
    level = LEVEL_NAMES[severity_rank(raw_level if isinstance(raw_level, int) else 4)]
    message = resolve(str(record.get("message") or "")).strip()
    if not message and isinstance(record.get("data"), dict):
        # .evtx and some providers carry no rendered text: the data says what happened.
        data = {str(k): str(v) for k, v in list(record["data"].items())[:6]}
        message = ", ".join(f"{k}={v}" for k, v in resolve_data(data).items())
    first = message.splitlines()[0] if message else ""
    full = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return RecordView(record, level, first[:300], full, _time_created(record.get("time_created")))


def _query(form: dict[str, str], zone_name: str) -> EventLogQuery:
    """The filter bar as the channel's query; its times are on the reader's clock."""
    times = {}
    for field in ("since", "until"):
        at = lookups.local_to_utc(form[field], zone_name, field)
        times[field] = at.isoformat() if at else ""
    return EventLogQuery.from_text({**form, **times})


TextForm = Annotated[str, Form()]


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
    """The filter bar, filled from the query string; nothing is sent to the agent.

    Asking runs a command on the machine, so only the form's POST, which carries
    the session's CSRF token, does it: a link from another site cannot.
    """
    filters = (log, level, event_id, source, since, until, limit)
    return await _events_page(request, c, session, agent_id, filters, ask=False)


@router.post("/agents/{agent_id}/events")
async def query_agent_events(
    request: Request,
    c: ContainerDep,
    session: FormSessionDep,
    agent_id: str,
    log: TextForm = "",
    level: TextForm = "",
    event_id: TextForm = "",
    source: TextForm = "",
    since: TextForm = "",
    until: TextForm = "",
    limit: TextForm = "",
) -> Response:
    """The filter bar sent: the agent is asked, and its records shown."""
    filters = (log, level, event_id, source, since, until, limit)
    return await _events_page(request, c, session, agent_id, filters, ask=True)


async def _events_page(
    request: Request,
    c: Container,
    session: SessionInfo,
    agent_id: str,
    filters: tuple[str, str, str, str, str, str, str],
    ask: bool,
) -> Response:
    log, level, event_id, source, since, until, limit = filters
    row = await run_in_threadpool(agent_context, c, session, agent_id)
    # What the agent said it reads when it connected: a Linux agent reading .evtx
    # folders offers Windows logs, not journald units it has none of.
    sources = c.control.sources(row.id)
    if sources is None:
        windows = row.is_windows
        logs: tuple[str, ...] = WINDOWS_LOGS if windows else LINUX_LOGS
    else:
        windows = row.is_windows or any(not is_journal_log(s) for s in sources)
        logs = sources
    form = {
        "log": log or (logs[0] if logs else ("System" if windows else "journal")),
        "level": level,
        "event_id": event_id if windows else "",
        "source": source,
        "since": since,
        "until": until,
        "limit": limit or str(QUERY_LIMIT_DEFAULT),
    }
    may_query = session.principal.can(Access.WRITE)
    zone = reader_zone(request, session)
    asked = ask and bool(log.strip())
    records: list[RecordView] | None = None
    error, problem, status_code = None, None, 200
    if not may_query:
        problem = READ_ONLY
    elif asked:
        try:
            found = await c.control.query_eventlog(
                session.principal, row.id, _query(form, zone.key)
            )
            records = [record_view(r) for r in found]
        except InvalidInput as exc:
            error, status_code = exc.message, 422
        except (AgentOffline, AgentTimedOut, AgentFailed, RateLimited) as exc:
            problem, status_code = next(v for k, v in PROBLEMS.items() if isinstance(exc, k))
            if isinstance(exc, AgentFailed) and exc.message:
                problem = f"{problem}: {exc.message}"
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
        logs=logs,
        sources=sources,
        levels=list(MinLevel),
        records=records,
        problem=problem,
        asked=asked,
        may_query=may_query,
        zone_name=zone.key,
    )
