"""The outbox's jobs: enqueued with a change, claimed by a runner, finished or retried.

Claiming is one conditional UPDATE per job (status and lease re-checked in its
WHERE), so two runners, on one node or several, never both take a job: the
second update matches no row. A runner that dies mid-job leaves a lease that
runs out, and the job is claimed again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.repositories import TenantRows, _to
from fleetward.domain.ids import new_id
from fleetward.domain.jobs import Job, JobStatus, NewJob

_J = schema.job


def _job(row: Mapping[Any, Any]) -> Job:
    return _to(Job, {**row, "status": JobStatus(row["status"])})


def _due(now: datetime) -> Any:
    return or_(
        and_(_J.c.status == JobStatus.PENDING.value, _J.c.next_attempt_at <= now),
        and_(_J.c.status == JobStatus.RUNNING.value, _J.c.lease_until < now),
    )


class JobRepository(TenantRows[Job]):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, _J, Job, unique_fields=("key",), convert=_job)

    def enqueue(self, job: NewJob, now: datetime) -> uuid.UUID | None:
        """Write the job; None when a job with its key exists already (a replay)."""
        build = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        job_id = new_id()
        statement = build(_J).values(
            id=job_id,
            tenant_id=job.tenant_id,
            kind=job.kind,
            ref_type=job.ref_type,
            ref_id=job.ref_id,
            key=job.key,
            payload=job.payload,
            status=JobStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            give_up_at=now + job.give_up_after,
            created_at=now,
        )
        if job.key is not None:
            statement = statement.on_conflict_do_nothing(index_elements=[_J.c.key])
        # RETURNING gives the id only when the row was written, alike on both engines.
        return self.conn.execute(statement.returning(_J.c.id)).scalar_one_or_none()

    def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Job]:
        """Take up to `limit` due jobs for `lease`, oldest due first; attempts counted."""
        candidates = self.conn.execute(
            select(_J.c.id).where(_due(now)).order_by(_J.c.next_attempt_at).limit(limit)
        ).scalars()
        claimed = []
        for job_id in list(candidates):
            result = self.conn.execute(
                update(_J)
                .where(_J.c.id == job_id, _due(now))
                .values(
                    status=JobStatus.RUNNING.value,
                    lease_until=now + lease,
                    attempts=_J.c.attempts + 1,
                )
            )
            if result.rowcount:
                claimed.append(job_id)
        if not claimed:
            return []
        rows = self.conn.execute(select(*self._columns()).where(_J.c.id.in_(claimed)))
        return sorted((_job(row) for row in rows.mappings()), key=lambda j: j.next_attempt_at)

    def finish(
        self,
        job_id: uuid.UUID,
        status: JobStatus,
        now: datetime,
        *,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        status_code: int | None = None,
    ) -> None:
        """Record an attempt's end: DONE, FAILED (given up) or PENDING again at
        `next_attempt_at`."""
        values: dict[str, Any] = {
            "status": status.value,
            "lease_until": None,
            "last_error": None if error is None else error[:2000],
            "last_status_code": status_code,
        }
        if status is JobStatus.PENDING:
            values["next_attempt_at"] = next_attempt_at or now
        else:
            values["finished_at"] = now
        self.conn.execute(update(_J).where(_J.c.id == job_id).values(**values))

    def replay(self, tenant_id: uuid.UUID, job_id: uuid.UUID, now: datetime) -> bool:
        """Run a finished job again soon, under the same id (the receiver's delivery id)."""
        row = self.get(tenant_id, job_id)
        if row is None:
            return False
        self.update(
            tenant_id,
            job_id,
            status=JobStatus.PENDING.value,
            next_attempt_at=now,
            give_up_at=now + (row.give_up_at - row.created_at),
            lease_until=None,
            finished_at=None,
        )
        return True

    def about(
        self, tenant_id: uuid.UUID, ref_type: str, ref_id: uuid.UUID, limit: int = 50
    ) -> list[Job]:
        """The newest jobs about one object (an alert, a notification, a subscription)."""
        query = (
            select(*self._columns())
            .where(_J.c.tenant_id == tenant_id, _J.c.ref_type == ref_type, _J.c.ref_id == ref_id)
            .order_by(_J.c.created_at.desc(), _J.c.id.desc())
            .limit(limit)
        )
        return [_job(row) for row in self.conn.execute(query).mappings()]

    def waiting(self) -> int:
        """Jobs not finished yet, for the metrics."""
        query = select(func.count()).where(
            _J.c.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value])
        )
        return int(self.conn.execute(query).scalar_one())

    def delete_finished_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` jobs, any tenant's, that finished (done or given up)
        before `cutoff`; how many. Pending and running jobs stay whatever their age,
        and so does a replayed one (pending again, its finished_at cleared)."""
        finished = [JobStatus.DONE.value, JobStatus.FAILED.value]
        some = select(_J.c.id).where(_J.c.status.in_(finished), _J.c.finished_at < cutoff)
        result = self.conn.execute(delete(_J).where(_J.c.id.in_(some.limit(limit))))
        return int(result.rowcount)
