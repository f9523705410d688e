"""Keyword-only data access shared by the API and the worker.

State changes of a job are compare-and-set UPDATEs (on status, lease or attempts), so the API, any number
of workers and the reaper can race without two attempts owning one job, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.db import utcnow
from storage.models import ApiKey, ArchiveFile, Customer, Job, JobStatus

KEY_SCHEME = "cp"


def _update_jobs(session: Session, *where: Any, **values: Any) -> int:
    """UPDATE jobs ... WHERE ...; returns the number of rows changed (the compare-and-set verdict)."""
    stmt = update(Job).where(*where).values(**values).execution_options(synchronize_session=False)
    return session.execute(stmt).rowcount


# --- customers and API keys -------------------------------------------------------------------------------


def get_or_create_customer(session: Session, *, name: str) -> Customer:
    name = name.strip()
    if not name:
        raise ValueError("a customer needs a non-empty name")
    customer = session.scalar(select(Customer).where(Customer.name == name))
    if customer is None:
        customer = Customer(name=name)
        session.add(customer)
        session.flush()
    return customer


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_api_key(session: Session, *, customer: Customer) -> str:
    """A new key for `customer`; the plaintext is returned once and only its sha256 is stored."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(customer_id=customer.id, prefix=prefix, key_sha256=_sha256(key)))
    session.flush()
    return key


def customer_for_api_key(session: Session, *, key: str) -> Customer | None:
    """The customer owning `key`, or None for malformed, unknown or revoked keys (constant-time compare)."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != 12:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1], ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.key_sha256, _sha256(key.strip())):
        return None
    return session.get(Customer, row.customer_id)


def list_api_keys(session: Session, *, customer: str | None = None) -> list[dict]:
    """Every key's public facts (prefix, customer, created, revoked), oldest first; never a secret."""
    query = select(ApiKey, Customer.name).join(Customer, Customer.id == ApiKey.customer_id)
    if customer is not None:
        query = query.where(Customer.name == customer)
    return [
        {
            "prefix": key.prefix,
            "customer": name,
            "created_at": key.created_at.isoformat(),
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        }
        for key, name in session.execute(query.order_by(ApiKey.created_at, ApiKey.id))
    ]


def revoke_api_key(session: Session, *, prefix: str) -> int | None:
    """Revoke the key with this prefix from now on -> its customer's id; None if there is no such live key."""
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    if row is None:
        return None
    row.revoked_at = utcnow()
    return row.customer_id


# --- jobs: creation, reading, erasure ---------------------------------------------------------------------


def create_job(
    session: Session,
    *,
    job_id: str,
    customer_id: int,
    source: str,
    source_path: str | None,
    filename: str,
    size_bytes: int,
    options: dict[str, Any],
    title: str | None,
    video: dict[str, Any] | None,
    course: str | None = None,
    status: str = JobStatus.QUEUED,
    error: str | None = None,
) -> Job:
    now = utcnow()
    job = Job(
        id=job_id,
        customer_id=customer_id,
        source=source,
        source_path=source_path,
        filename=filename,
        size_bytes=size_bytes,
        options=options,
        title=title,
        course=course,
        video=video,
        status=status,
        error=error,
        stage="queued" if status == JobStatus.QUEUED else status,
        created_at=now,
        updated_at=now,
        finished_at=now if status in JobStatus.FINISHED else None,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, *, job_id: str, customer_id: int | None = None) -> Job | None:
    """The job, or None when it does not exist or belongs to another customer (callers answer 404 alike)."""
    job = session.get(Job, job_id)
    if job is None or (customer_id is not None and job.customer_id != customer_id):
        return None
    return job


def list_jobs(
    session: Session, *, customer_id: int, limit: int, offset: int, course: str | None = None
) -> tuple[list[Job], int]:
    """A page of the customer's jobs (of one course when `course` is given), newest first, and the total
    count."""
    where = [Job.customer_id == customer_id]
    if course is not None:
        where.append(Job.course == course)
    count = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    rows = session.scalars(
        select(Job).where(*where).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), count


def course_jobs(session: Session, *, customer_id: int, course: str) -> list[Job]:
    """The customer's succeeded jobs labelled `course`, oldest first (never another customer's)."""
    rows = session.scalars(
        select(Job)
        .where(Job.customer_id == customer_id, Job.course == course, Job.status == JobStatus.SUCCEEDED)
        .order_by(Job.created_at, Job.id)
    ).all()
    return list(rows)


def count_jobs_by_status(session: Session) -> dict[str, int]:
    """{status: number of jobs} over all customers (states without jobs are absent)."""
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    return {status: count for status, count in rows}


def delete_job(session: Session, *, job_id: str) -> None:
    """Remove the record; archive bookkeeping keeps the file version (so it is not re-processed)."""
    session.execute(update(ArchiveFile).where(ArchiveFile.job_id == job_id).values(job_id=None))
    session.execute(Job.__table__.delete().where(Job.id == job_id))


def mark_enqueued(session: Session, *, job_id: str, task_id: str, requeue: bool = False) -> None:
    values: dict[str, Any] = {"task_id": task_id, "enqueued_at": utcnow()}
    if requeue:
        values["requeues"] = Job.requeues + 1
    _update_jobs(session, Job.id == job_id, **values)


def set_source_path(session: Session, *, job_id: str, source_path: str | None) -> None:
    _update_jobs(session, Job.id == job_id, source_path=source_path)


# --- jobs: the worker's lease -----------------------------------------------------------------------------


class ClaimOutcome(enum.Enum):
    CLAIMED = "claimed"
    MISSING = "missing"  # deleted (erased) before it ran
    FINISHED = "finished"  # a duplicate delivery of a job that already ended
    BUSY = "busy"  # another attempt is alive (fresh heartbeat)
    EXHAUSTED = "exhausted"  # max attempts reached: the job has just been failed
    LOST_RACE = "lost-race"  # another delivery claimed it between our read and our write


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    job: Job | None = None


def claim_job(
    session: Session,
    *,
    job_id: str,
    lease: str,
    worker: str,
    task_id: str | None,
    redelivered: bool,
    stale_before: dt.datetime,
    max_attempts: int,
) -> Claim:
    """Take the job for one attempt: queued, or running without a recent heartbeat, or running under this
    very message when the broker redelivered it (its previous consumer died: `reject_on_worker_lost`)."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        return Claim(ClaimOutcome.MISSING)
    if job.status in JobStatus.FINISHED:
        return Claim(ClaimOutcome.FINISHED, job)
    if job.status == JobStatus.RUNNING:
        stale = job.heartbeat_at is None or job.heartbeat_at < stale_before
        same_message = redelivered and task_id is not None and job.task_id == task_id
        if not (stale or same_message):
            return Claim(ClaimOutcome.BUSY, job)
    now = utcnow()
    guard = (Job.id == job_id, Job.status == job.status, Job.attempts == job.attempts)
    if job.attempts >= max_attempts:
        error = (
            f"gave up after {job.attempts} attempts (the last one ended without a result: "
            f"{job.stage or 'unknown stage'})"
        )
        done = _update_jobs(
            session, *guard, status=JobStatus.FAILED, error=error, stage="failed", lease=None, finished_at=now
        )
        return Claim(ClaimOutcome.EXHAUSTED if done else ClaimOutcome.LOST_RACE, job)
    claimed = _update_jobs(
        session,
        *guard,
        status=JobStatus.RUNNING,
        lease=lease,
        worker=worker[:200],
        attempts=Job.attempts + 1,
        heartbeat_at=now,
        started_at=func.coalesce(Job.started_at, now),
        stage="starting",
        error=None,
        progress=0.0,
        task_id=task_id if task_id is not None else Job.task_id,
    )
    if not claimed:
        return Claim(ClaimOutcome.LOST_RACE, job)
    session.refresh(job)
    return Claim(ClaimOutcome.CLAIMED, job)


def touch_job(
    session: Session, *, job_id: str, lease: str, progress: float | None = None, stage: str | None = None
) -> bool:
    """Heartbeat (and progress) of the attempt holding `lease`; False once the job is deleted or re-leased."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = progress
    if stage is not None:
        values["stage"] = stage[:120]
    return bool(
        _update_jobs(session, Job.id == job_id, Job.lease == lease, Job.status == JobStatus.RUNNING, **values)
    )


def finish_job(
    session: Session,
    *,
    job_id: str,
    lease: str,
    succeeded: bool,
    error: str | None = None,
    wall_s: float | None = None,
    video: dict | None = None,
) -> bool:
    """End the attempt holding `lease`; False when it no longer holds the job. `video` replaces the probed
    recording facts (the analysis found the file truncated)."""
    values: dict[str, Any] = {
        "status": JobStatus.SUCCEEDED if succeeded else JobStatus.FAILED,
        "stage": "done" if succeeded else "failed",
        "error": error,
        "lease": None,
        "finished_at": utcnow(),
    }
    if succeeded:
        values["progress"] = 100.0
    if wall_s is not None:
        values["wall_s"] = wall_s
    if video is not None:
        values["video"] = video
    return bool(
        _update_jobs(session, Job.id == job_id, Job.lease == lease, Job.status == JobStatus.RUNNING, **values)
    )


def release_job(session: Session, *, job_id: str, lease: str, stage: str) -> bool:
    """Give the job back to the queue (a retry after a transient error)."""
    return bool(
        _update_jobs(
            session,
            Job.id == job_id,
            Job.lease == lease,
            Job.status == JobStatus.RUNNING,
            status=JobStatus.QUEUED,
            lease=None,
            stage=stage[:120],
            progress=0.0,
        )
    )


# --- jobs: the reaper and retention -----------------------------------------------------------------------


def stale_running_jobs(session: Session, *, heartbeat_before: dt.datetime) -> list[Job]:
    return list(
        session.scalars(
            select(Job).where(Job.status == JobStatus.RUNNING, Job.heartbeat_at < heartbeat_before)
        ).all()
    )


def queued_jobs(session: Session, *, enqueued_before: dt.datetime) -> list[Job]:
    """Queued jobs last published before the given time (or never published)."""
    return list(
        session.scalars(
            select(Job).where(
                Job.status == JobStatus.QUEUED,
                (Job.enqueued_at < enqueued_before) | Job.enqueued_at.is_(None),
                Job.created_at < enqueued_before,
            )
        ).all()
    )


def requeue_stale_job(session: Session, *, job_id: str, heartbeat_before: dt.datetime) -> bool:
    """running -> queued, if its heartbeat is still old (the worker is gone)."""
    return bool(
        _update_jobs(
            session,
            Job.id == job_id,
            Job.status == JobStatus.RUNNING,
            Job.heartbeat_at < heartbeat_before,
            status=JobStatus.QUEUED,
            lease=None,
            progress=0.0,
            stage="re-queued: the worker stopped responding",
        )
    )


def fail_job(
    session: Session,
    *,
    job_id: str,
    error: str,
    from_status: str,
    heartbeat_before: dt.datetime | None = None,
) -> bool:
    """Fail a job that is still in `from_status` (and, for running jobs, still without a heartbeat)."""
    where = [Job.id == job_id, Job.status == from_status]
    if heartbeat_before is not None:
        where.append(Job.heartbeat_at < heartbeat_before)
    return bool(
        _update_jobs(
            session,
            *where,
            status=JobStatus.FAILED,
            error=error,
            stage="failed",
            lease=None,
            finished_at=utcnow(),
        )
    )


def expired_jobs(session: Session, *, created_before: dt.datetime) -> list[Job]:
    """Finished jobs older than the retention period."""
    return list(
        session.scalars(
            select(Job).where(Job.status.in_(JobStatus.FINISHED), Job.created_at < created_before)
        ).all()
    )


#: Ids per `IN (...)` query: well under every database's limit on bound parameters.
IDS_PER_QUERY = 500


def get_jobs(session: Session, *, job_ids: Collection[str]) -> dict[str, Job]:
    """The jobs among `job_ids` that exist, by id: one query per IDS_PER_QUERY ids, not one per job."""
    ids = list(job_ids)
    jobs: dict[str, Job] = {}
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        jobs.update((job.id, job) for job in session.scalars(select(Job).where(Job.id.in_(chunk))))
    return jobs


# --- archive runs -----------------------------------------------------------------------------------------


def archive_key(*, path: str, size_bytes: int, mtime_ns: int) -> str:
    return hashlib.sha256(f"{path}\0{size_bytes}\0{mtime_ns}".encode()).hexdigest()


def archive_file_known(session: Session, *, key: str) -> bool:
    return session.scalar(select(ArchiveFile.id).where(ArchiveFile.key == key)) is not None


def add_archive_file(
    session: Session, *, key: str, path: str, size_bytes: int, mtime_ns: int, job_id: str
) -> None:
    """Record a file version; raises IntegrityError when a concurrent scan recorded it first."""
    session.add(ArchiveFile(key=key, path=path, size_bytes=size_bytes, mtime_ns=mtime_ns, job_id=job_id))
    session.flush()
