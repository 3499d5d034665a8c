"""Calls to an alert's provider after a change has committed: reset and acknowledge.

A person closing a ticket (or acknowledging an alert) writes an outbox job in
the same transaction (`enqueue_resets`, `enqueue_acknowledge`); the JobRunner
runs it after the commit through the integration's ProviderApi, and retries
it with backoff when the provider fails. Every attempt is recorded on the
alert where people look: `outbound_error` holds the last failure until a call
succeeds, and `trace["outbound"]` lists the attempts (the newest
TRACE_ATTEMPTS). Nothing here ever fails the person's change.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from fleetward.domain.alerts import Alert
from fleetward.domain.errors import ProviderApiError
from fleetward.domain.integrations import API_PROVIDERS, Integration
from fleetward.domain.jobs import Job, JobFailed, NewJob
from fleetward.domain.tickets import Ticket
from fleetward.services.outbox import JobRunner
from fleetward.services.ports import (
    ApiOpener,
    Clock,
    ProviderApi,
    Repositories,
    UnitOfWork,
)

RESET = "provider.reset"
ACKNOWLEDGE = "provider.acknowledge"
TRACE_ATTEMPTS = 20  # attempts kept in the trace: a provider down for a day stays bounded


def note_outbound(
    repos: Repositories,
    alert: Alert,
    action: str,
    result: str,
    now: datetime,
    error: str | None = None,
    clear_error: bool = False,
) -> None:
    """Append one attempt to the alert's trace; set (or clear) its outbound_error."""
    attempts = [a for a in alert.trace.get("outbound") or () if isinstance(a, dict)]
    entry: dict[str, Any] = {"at": now.isoformat(), "action": action, "result": result}
    if error is not None:
        entry["error"] = error[:500]
    trace = {**alert.trace, "outbound": [*attempts, entry][-TRACE_ATTEMPTS:]}
    values: dict[str, Any] = {"trace": trace, "updated_at": now}
    if error is not None:
        values["outbound_error"] = error[:2000]
    elif clear_error:
        values["outbound_error"] = None
    repos.alerts.update(alert.tenant_id, alert.id, **values)


def ticket_reference(ticket: Ticket, base_url: str) -> str:
    return f"Fleetward ticket #{ticket.number}: {base_url}/tickets/{ticket.id}"


def enqueue_reset(
    repos: Repositories, alert: Alert, ticket: Ticket, base_url: str, now: datetime
) -> bool:
    """In the closing transaction: the reset job for `alert`, or a note that its
    provider has no API. One job per alert whatever replays (the key)."""
    if alert.provider not in API_PROVIDERS:
        note_outbound(
            repos, alert, "reset", f"not reset: {alert.provider.value} has no API to call", now
        )
        return False
    repos.jobs.enqueue(
        NewJob(
            tenant_id=alert.tenant_id,
            kind=RESET,
            payload={"ticket_reference": ticket_reference(ticket, base_url)},
            key=f"reset:{alert.id}",
            ref_type="alert",
            ref_id=alert.id,
        ),
        now,
    )
    return True


def enqueue_resets(
    repos: Repositories, alerts: Iterable[Alert], ticket: Ticket, base_url: str, now: datetime
) -> int:
    """In the closing transaction: one reset job per provider alert. Occurrences of one
    provider alert (same integration and series) on the ticket are one alert there, so
    the first one's job resets it and the others' traces say so: the provider hears
    one reset, not one per occurrence (the later ones would only find it gone)."""
    first_of: dict[tuple[uuid.UUID, str], Alert] = {}
    enqueued = 0
    for alert in alerts:
        series = (alert.integration_id, alert.series_key)
        first = first_of.setdefault(series, alert)
        if first is not alert and alert.provider in API_PROVIDERS:
            note_outbound(
                repos,
                alert,
                "reset",
                f"reset with alert {first.id}: the same {alert.provider.value} alert",
                now,
            )
            continue
        enqueued += enqueue_reset(repos, alert, ticket, base_url, now)
    return enqueued


def enqueue_acknowledge(repos: Repositories, alert: Alert, now: datetime) -> bool:
    if alert.provider not in API_PROVIDERS:
        note_outbound(
            repos,
            alert,
            "acknowledge",
            f"not acknowledged at the provider: {alert.provider.value} has no API to call",
            now,
        )
        return False
    repos.jobs.enqueue(
        NewJob(
            tenant_id=alert.tenant_id,
            kind=ACKNOWLEDGE,
            payload={},
            key=f"acknowledge:{alert.id}",
            ref_type="alert",
            ref_id=alert.id,
        ),
        now,
    )
    return True


class ProviderOutbound:
    """The handlers of the provider.* jobs, registered with the JobRunner."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        open_api: ApiOpener,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.open_api = open_api

    def register(self, runner: JobRunner) -> None:
        runner.register(RESET, self._reset, self._failed("reset"))
        runner.register(ACKNOWLEDGE, self._acknowledge, self._failed("acknowledge"))

    def _load(self, job: Job) -> tuple[Alert, Integration] | None:
        assert job.ref_id is not None
        with self.uow.read() as repos:
            alert = repos.alerts.get(job.tenant_id, job.ref_id)
            if alert is None:
                return None
            integration = repos.integrations.get(job.tenant_id, alert.integration_id)
        return None if integration is None else (alert, integration)

    async def _open(self, job: Job) -> tuple[Alert, ProviderApi] | None:
        found = await asyncio.to_thread(self._load, job)
        if found is None:  # deleted since: nothing left to tell the provider about
            return None
        alert, integration = found
        api = await asyncio.to_thread(self.open_api, integration)
        if api is None:
            raise JobFailed(
                f"integration {integration.name!r} has no API credentials to call "
                f"{integration.provider.value} with"
            )
        return alert, api

    async def _reset(self, job: Job) -> None:
        opened = await self._open(job)
        if opened is None:
            return
        alert, api = opened
        try:
            await api.reset(alert, job.payload.get("ticket_reference"))
        except ProviderApiError as error:
            raise _failure(error) from error
        finally:
            await api.aclose()
        await self._succeeded(alert.id, job, "reset", "reset at the provider")

    async def _acknowledge(self, job: Job) -> None:
        opened = await self._open(job)
        if opened is None:
            return
        alert, api = opened
        try:
            supported = await api.acknowledge(alert)
        except ProviderApiError as error:
            raise _failure(error) from error
        finally:
            await api.aclose()
        result = (
            "acknowledged at the provider"
            if supported
            else f"not acknowledged: {alert.provider.value} has no acknowledgement"
        )
        await self._succeeded(alert.id, job, "acknowledge", result)

    async def _succeeded(self, alert_id: uuid.UUID, job: Job, action: str, result: str) -> None:
        now = self.clock()

        def record(repos: Repositories) -> None:
            alert = repos.alerts.get(job.tenant_id, alert_id)
            if alert is not None:
                note_outbound(repos, alert, action, result, now, clear_error=True)

        await self.uow.run_write_async(record)

    def _failed(self, action: str) -> Callable[[Repositories, Job, str, bool], None]:
        def on_failure(repos: Repositories, job: Job, message: str, given_up: bool) -> None:
            if job.ref_id is None:
                return
            alert = repos.alerts.get(job.tenant_id, job.ref_id)
            if alert is None:
                return
            result = (
                f"{action} failed (attempt {job.attempts}): given up"
                if given_up
                else f"{action} failed (attempt {job.attempts}): will retry"
            )
            note_outbound(repos, alert, action, result, self.clock(), error=message)

        return on_failure


def _failure(error: ProviderApiError) -> JobFailed:
    return JobFailed(str(error), status_code=error.status_code, retry_after=error.retry_after)
