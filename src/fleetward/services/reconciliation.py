"""Reconciliation: an integration's alerts compared with what its provider reports.

A run fetches the provider's active alerts once, then, in batched write jobs:
ingests the triggers the webhook missed through the webhook's own path
(AlertPipeline.ingest: a webhook and a poll of one alert are one alert and one
ticket, a replayed poll changes nothing); resolves the open alerts the provider
no longer has, as their reset would have (comment, auto-resolve); and decides
again the suppressed alerts the provider still reports, once their maintenance
window has ended (one ticket per problem, through the dedup key). Each run is a
`sync_run` row with its counts; one runs per integration at a time on every
node (sync_repositories.py). Provider and storage failures end the run as
`failed` with the reason on it: they are never raised to the person.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import structlog

from fleetward.domain.alerts import AlertStatus, EventKind, IngestResult, NormalizedEvent
from fleetward.domain.errors import Conflict, NotFound, ProviderApiError, StorageUnavailable
from fleetward.domain.identity import Access, Principal
from fleetward.domain.ids import new_id
from fleetward.domain.integrations import API_PROVIDERS, Integration
from fleetward.domain.pagination import Page
from fleetward.domain.sync import (
    LocalAlert,
    SyncCounts,
    SyncRun,
    SyncStatus,
    SyncTrigger,
    due_for_poll,
)
from fleetward.services.alert_pipeline import AlertPipeline
from fleetward.services.audit import actor_of, record
from fleetward.services.cross_tenant import CrossTenantProbes
from fleetward.services.ports import (
    ApiOpener,
    Clock,
    ProviderApi,
    UnitOfWork,
)
from fleetward.services.resources import ScopedResource

log = structlog.get_logger("fleetward.sync")

T = TypeVar("T")
R = TypeVar("R")

ANSWER_WITHIN_SECONDS = 10.0
LEASE = timedelta(minutes=10)
BATCH_SIZE = 500
STOPPED = "the server stopped during the run"


def already_running(run: SyncRun | None) -> Conflict:
    """Another run of the integration has not finished: the 409 names it."""
    if run is None:  # it finished between the refused insert and this read
        return Conflict("a sync of this integration was running; try again")
    return Conflict(
        f"a sync of this integration is running already: run {run.id}, "
        f"started {run.started_at.isoformat()}"
    )


class _Stopped(Exception):
    pass


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SyncService:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        probes: CrossTenantProbes,
        pipeline: AlertPipeline,
        open_api: ApiOpener,
        *,
        answer_within_seconds: float = ANSWER_WITHIN_SECONDS,
        lease: timedelta = LEASE,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.pipeline = pipeline
        self.open_api = open_api
        self.answer_within_seconds = answer_within_seconds
        self.lease = lease
        self.batch_size = batch_size
        self.integrations = ScopedResource[Integration](
            uow, clock, probes, "integration", lambda r: r.integrations
        )
        self.runs = ScopedResource[SyncRun](uow, clock, probes, "sync_run", lambda r: r.sync_runs)
        self._background: set[asyncio.Task[SyncRun]] = set()
        # One flag per run going: set when the server stops, checked between batches.
        self._stop_flags: set[threading.Event] = set()

    # People (API, dashboard): operators and admins start a sync, everyone reads runs

    async def sync_now(
        self, principal: Principal, integration_id: uuid.UUID
    ) -> tuple[SyncRun, bool]:
        """Start a run and wait for it up to `answer_within_seconds`: (the run, finished).
        An unfinished run goes on in the background."""
        principal.require(Access.WRITE)
        integration = await asyncio.to_thread(self.integrations.get, principal, integration_id)
        # Off the loop: opening the credentials may read the database.
        api = await asyncio.to_thread(self._api_for, integration)
        try:
            run = await asyncio.to_thread(self._begin, integration, SyncTrigger.MANUAL, principal)
        except BaseException:
            await api.aclose()
            raise
        task = asyncio.create_task(self._carry_out(run, integration, api))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        done, _ = await asyncio.wait({task}, timeout=self.answer_within_seconds)
        if task in done:
            return task.result(), True
        return run, False

    def page(
        self,
        principal: Principal,
        integration_id: uuid.UUID,
        limit: int | None,
        cursor: str | None,
    ) -> Page[SyncRun]:
        """The integration's runs, newest first."""
        self.integrations.get(principal, integration_id)
        return self.runs.page(principal, limit, cursor, integration_id=integration_id)

    def get(self, principal: Principal, integration_id: uuid.UUID, run_id: uuid.UUID) -> SyncRun:
        self.integrations.get(principal, integration_id)
        return self.runs.get(principal, run_id, integration_id=integration_id)

    # The system (scheduler, CLI): no tenant, the integration's id names it

    async def run(self, integration_id: uuid.UUID, trigger: SyncTrigger) -> SyncRun:
        """One run of any tenant's integration, to its end."""

        def find() -> tuple[Integration, ProviderApi]:
            with self.uow.read() as repos:
                found = repos.integrations.for_webhook(integration_id)
            if found is None:
                raise NotFound("no such integration")
            return found[0], self._api_for(found[0])

        integration, api = await asyncio.to_thread(find)
        try:
            run = await asyncio.to_thread(self._begin, integration, trigger, None)
        except BaseException:
            await api.aclose()
            raise
        return await self._carry_out(run, integration, api)

    async def poll_due(self) -> dict[str, int]:
        """The scheduler's turn: each enabled integration with `poll_enabled` whose last
        run started at least its `poll_interval_minutes` ago, and that has an API."""
        now = self.clock()

        def due() -> list[Integration]:
            with self.uow.read() as repos:
                return due_for_poll(repos.sync_runs.pollable(), repos.sync_runs.last_started(), now)

        ran = skipped = 0
        for integration in await asyncio.to_thread(due):
            api = await asyncio.to_thread(self.open_api, integration)
            if api is None:
                skipped += 1
                continue
            try:
                run = await asyncio.to_thread(self._begin, integration, SyncTrigger.SCHEDULE, None)
            except Conflict:  # running already, here or on another node
                await api.aclose()
                skipped += 1
                continue
            except BaseException:
                await api.aclose()
                raise
            await self._carry_out(run, integration, api)
            ran += 1
        return {"ran": ran, "skipped": skipped}

    async def stop(self) -> None:
        """The server is going: runs still going end as failed (STOPPED)."""
        for flag in list(self._stop_flags):
            flag.set()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # One run

    def _api_for(self, integration: Integration) -> ProviderApi:
        if not integration.enabled:
            raise Conflict("this integration is disabled: enable it to sync")
        if integration.provider not in API_PROVIDERS:
            raise Conflict(
                f"{integration.provider.value} integrations have no API to sync from: "
                "their alerts arrive by webhook only"
            )
        api = self.open_api(integration)
        if api is None:
            raise Conflict("this integration has no API credentials yet: add them before syncing")
        return api

    def _begin(
        self, integration: Integration, trigger: SyncTrigger, principal: Principal | None
    ) -> SyncRun:
        now = self.clock()
        run = SyncRun(
            id=new_id(),
            tenant_id=integration.tenant_id,
            integration_id=integration.id,
            trigger=trigger,
            status=SyncStatus.RUNNING,
            started_at=now,
            lease_until=now + self.lease,
        )
        with self.uow.write() as repos:
            started = repos.sync_runs.start(run, now)
            if started is None:
                raise already_running(repos.sync_runs.running(integration.id))
            if principal is not None:
                record(
                    repos,
                    self.clock,
                    principal.tenant_id,
                    actor_of(principal),
                    "integration.sync",
                    "integration",
                    integration.id,
                    after={"sync_run_id": str(run.id)},
                )
        return run

    async def _carry_out(self, run: SyncRun, integration: Integration, api: ProviderApi) -> SyncRun:
        counts = SyncCounts()
        stop = threading.Event()
        self._stop_flags.add(stop)
        try:
            fetched_at = self.clock()
            try:
                events = await api.active_alerts()
            finally:
                await api.aclose()
            await asyncio.to_thread(
                self._reconcile, run, integration, events, fetched_at, stop, counts
            )
        except ProviderApiError as error:
            return await self._end(run, SyncStatus.FAILED, counts, f"provider: {error}")
        except StorageUnavailable as error:
            log.warning("sync_storage_failed", run_id=str(run.id), detail=error.detail)
            return await self._end(run, SyncStatus.FAILED, counts, f"storage: {error.message}")
        except (asyncio.CancelledError, _Stopped):
            await asyncio.shield(self._end(run, SyncStatus.FAILED, counts, STOPPED))
            raise
        except Exception as error:
            log.exception("sync_failed", run_id=str(run.id))
            reason = f"internal error: {type(error).__name__}"
            return await self._end(run, SyncStatus.FAILED, counts, reason)
        finally:
            self._stop_flags.discard(stop)
        return await self._end(run, SyncStatus.SUCCEEDED, counts, None)

    async def _end(
        self, run: SyncRun, status: SyncStatus, counts: SyncCounts, error: str | None
    ) -> SyncRun:
        def write() -> SyncRun:
            now = self.clock()
            with self.uow.write() as repos:
                repos.sync_runs.finish(run.id, status, now, counts.as_values(), error)
                ended = repos.sync_runs.get(run.tenant_id, run.id)
            return ended if ended is not None else run

        try:
            ended = await asyncio.to_thread(write)
        except StorageUnavailable:
            # Left running: its lease runs out and the next run takes it over.
            return run
        log.info(
            "sync_done",
            run_id=str(run.id),
            integration_id=str(run.integration_id),
            status=ended.status.value,
            error=ended.error,
            **counts.as_values(),
        )
        return ended

    # The comparison (on a worker thread: every step is a write job of its own)

    def _reconcile(
        self,
        run: SyncRun,
        integration: Integration,
        events: list[NormalizedEvent],
        fetched_at: datetime,
        stop: threading.Event,
        counts: SyncCounts,
    ) -> None:
        lease = _Lease(self, run, stop)
        reported: dict[str, NormalizedEvent] = {}
        for event in events:
            if event.kind is EventKind.TRIGGERED:
                reported.setdefault(event.external_alert_id, event)
        with self.uow.read() as repos:
            held = repos.sync_runs.held_alerts(integration.id)
        held_series: dict[str, list[LocalAlert]] = defaultdict(list)
        by_occurrence_id: dict[str, str] = {}
        by_occurrence: dict[tuple[str, str, datetime | None], str] = {}
        for alert in held:
            held_series[alert.series_key].append(alert)
            by_occurrence_id.setdefault(alert.external_alert_id, alert.series_key)
            by_occurrence.setdefault(alert.occurrence, alert.series_key)
        # Each reported alert under the series Fleetward holds it by: its own, or that
        # of the held alert made from the same occurrence (same occurrence id, or same
        # device, condition and time), whose series may differ: a webhook without the
        # provider's alert id (NinjaOne's seriesUid, Tactical's alert_id) is held by
        # one of its own making ("<source config>:<device>", "<agent>:<condition>"),
        # its poll by the alert's id. Else it is missing here.
        local: dict[str, str] = {}
        for event in reported.values():
            occurrence = (event.device.external_id, event.condition_identity, event.occurred_at)
            series = (
                event.series_key
                if event.series_key in held_series
                else by_occurrence_id.get(event.external_alert_id) or by_occurrence.get(occurrence)
            )
            if series is not None:
                local[event.external_alert_id] = series
        missing = [e for e in reported.values() if e.external_alert_id not in local]
        known = [e for e in reported.values() if e.external_alert_id in local]
        latest = {local.get(e.external_alert_id, e.series_key): e for e in reported.values()}
        # Per series the provider reports: its suppressed alerts, to decide again.
        suppressed: dict[str, list[uuid.UUID]] = defaultdict(list)
        for event in known:
            series = local[event.external_alert_id]
            suppressed[series] = [
                a.id for a in held_series[series] if a.status is AlertStatus.SUPPRESSED
            ]
        # 1. Triggers the webhook missed, through the webhook's own path.
        for batch in _chunks(missing, self.batch_size):
            lease.keep()
            outcomes = self._batched(lambda part: self.pipeline.ingest(integration, [*part]), batch)
            for event, outcome in zip(batch, outcomes, strict=True):
                if outcome is None:
                    counts.errors += 1
                elif outcome.result is IngestResult.DUPLICATE:
                    counts.unchanged += 1
                else:
                    counts.created += 1
                    if outcome.result is IngestResult.SUPPRESSED and outcome.alert_id:
                        suppressed[event.series_key].append(outcome.alert_id)
        # 2. Open alerts the provider no longer has. It had them when its list was
        # fetched, or they arrived since: those are left alone.
        gone = [a.id for a in held if a.series_key not in latest and a.created_at <= fetched_at]
        for ids in _chunks(gone, self.batch_size):
            lease.keep()
            results = self._batched(lambda p: self.pipeline.resolve_gone(integration, p), ids)
            counts.resolved += sum(1 for r in results if r)
            counts.errors += sum(1 for r in results if r is None)
        # 3. Suppressed alerts still reported: decided again once their window ended.
        series_with_ids = [(series, ids) for series, ids in suppressed.items() if ids]
        changed: set[str] = set()
        for part in _chunks(series_with_ids, self.batch_size):
            lease.keep()
            groups = [(ids, latest[series]) for series, ids in part]
            decided = self._batched(lambda p: self.pipeline.reevaluate(integration, p), groups)
            for (series, _), count in zip(part, decided, strict=True):
                if count is None:
                    counts.errors += 1
                elif count:
                    counts.reevaluated += count
                    changed.add(series)
        counts.unchanged += sum(1 for e in known if local[e.external_alert_id] not in changed)

    def _batched(
        self, work: Callable[[Sequence[T]], list[R]], items: Sequence[T]
    ) -> list[R | None]:
        """`work` on the batch in one write job; when that fails, on each item alone,
        so one bad alert costs its own result (None), not the batch's."""
        try:
            return list(work(items))
        except (StorageUnavailable, _Stopped):
            raise
        except Exception:
            log.exception("sync_batch_failed", size=len(items))
        results: list[R | None] = []
        for item in items:
            try:
                results.extend(work([item]))
            except (StorageUnavailable, _Stopped):
                raise
            except Exception as error:
                log.warning("sync_item_failed", error=f"{type(error).__name__}: {error}")
                results.append(None)
        return results


class _Lease:
    """Keeps a run's lease ahead of the clock while it works, and stops it when the
    server is going."""

    def __init__(self, service: SyncService, run: SyncRun, stop: threading.Event) -> None:
        self.service = service
        self.run = run
        self.stop = stop
        self.renewed_at = run.started_at

    def keep(self) -> None:
        service = self.service
        if self.stop.is_set():
            raise _Stopped
        now = service.clock()
        if now - self.renewed_at < service.lease / 3:
            return
        with service.uow.write() as repos:
            repos.sync_runs.extend(self.run.id, now + service.lease)
        self.renewed_at = now
