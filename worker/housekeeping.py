"""Scheduled housekeeping: the reaper, retention, and archive scans (plain functions + thin Celery tasks)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from classpulse.insights.markers import Marker, MarkerError, read_markers
from service.audit import audit
from service.settings import Settings, get_settings
from storage import crud
from storage.db import get_engine, session_scope, utcnow
from storage.files import Layout, remove_tree
from storage.models import Job, JobSource, JobStatus
from worker.app import PURGE_TASK, REAP_TASK, SCAN_TASK, app
from worker.enqueue import enqueue_job
from worker.jobs import drop_upload
from worker.queue import JobQueue

log = logging.getLogger(__name__)

#: Files and folders without a job row are deleted once they are this old (an upload in flight is younger).
ORPHAN_AGE_S = 3600
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_STAGING = re.compile(r"^\.staging-([0-9a-f]{32})-([0-9a-f]{32})$")
#: `NAME.markers.csv` beside `NAME.mp4` holds that recording's lecture markers.
MARKERS_SIDECAR = ".markers.csv"


# --- reaper -----------------------------------------------------------------------------------------------


def reap(*, settings: Settings, queue: JobQueue) -> dict[str, int]:
    """Re-publish jobs whose worker died (running, heartbeat older than `reaper_stale_s`) or whose message
    the broker lost (queued, marker gone); fail them after `job_max_attempts` attempts or
    `job_max_requeues` re-publications."""
    engine = get_engine(settings.sqlalchemy_url)
    stale = utcnow() - dt.timedelta(seconds=settings.reaper_stale_s)
    counts = {"requeued_running": 0, "requeued_queued": 0, "failed": 0}
    with session_scope(engine) as session:
        running = crud.stale_running_jobs(session, heartbeat_before=stale)
    for job in running:
        outcome = _reap_running(job, engine=engine, settings=settings, queue=queue, stale=stale)
        if outcome:
            counts[outcome] += 1

    # Queued jobs: with Redis the marker tells whether the broker still has the message; with another broker
    # only a message older than the visibility timeout can be presumed lost.
    horizon = settings.reaper_stale_s if queue.tracks_markers else settings.visibility_timeout_s
    with session_scope(engine) as session:
        queued = crud.queued_jobs(session, enqueued_before=utcnow() - dt.timedelta(seconds=horizon))
    lost = queue.missing_from_broker(job.id for job in queued)
    for job in queued:
        outcome = _reap_queued(job, engine=engine, settings=settings, queue=queue) if job.id in lost else None
        if outcome:
            counts[outcome] += 1
    if any(counts.values()):
        log.info("reaper: %s", counts)
    return counts


def _reap_running(job: Job, *, engine, settings: Settings, queue: JobQueue, stale: dt.datetime) -> str | None:
    """A running job whose heartbeat stopped: "requeued_running", or "failed" after `job_max_attempts`
    attempts; None when another process changed the job first."""
    if job.attempts >= settings.job_max_attempts:
        error = (
            f"the worker stopped responding during each of {job.attempts} attempts "
            f"(last stage: {job.stage or 'unknown'})"
        )
        with session_scope(engine) as session:
            failed = crud.fail_job(
                session, job_id=job.id, error=error, from_status=JobStatus.RUNNING, heartbeat_before=stale
            )
        if not failed:
            return None
        drop_upload(engine=engine, settings=settings, job=job)
        return "failed"
    with session_scope(engine) as session:
        requeued = crud.requeue_stale_job(session, job_id=job.id, heartbeat_before=stale)
    if not requeued:
        return None
    log.warning("job %s: worker %s stopped responding; re-queued", job.id, job.worker)
    enqueue_job(engine=engine, queue=queue, job=job, reaped=True)
    return "requeued_running"


def _reap_queued(job: Job, *, engine, settings: Settings, queue: JobQueue) -> str | None:
    """A queued job whose message the broker lost: "requeued_queued", or "failed" after `job_max_requeues`
    re-publications; None when it is no longer queued or the broker is still unreachable."""
    if job.requeues >= settings.job_max_requeues:
        with session_scope(engine) as session:
            failed = crud.fail_job(
                session,
                job_id=job.id,
                from_status=JobStatus.QUEUED,
                error=f"the queue lost this job {job.requeues} times; giving up",
            )
        if not failed:
            return None
        drop_upload(engine=engine, settings=settings, job=job)
        return "failed"
    with session_scope(engine) as session:
        current = crud.get_job(session, job_id=job.id)
    if current is None or current.status != JobStatus.QUEUED:
        return None
    log.warning("job %s: its queue message is gone (broker flushed or restarted); re-queued", job.id)
    return "requeued_queued" if enqueue_job(engine=engine, queue=queue, job=job, reaped=True) else None


# --- retention --------------------------------------------------------------------------------------------


def purge(*, settings: Settings, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete finished jobs older than `retention_days` with their outputs and uploads, then files that
    belong to no job (interrupted uploads, outputs of deleted jobs, dead attempts' staging folders)."""
    engine = get_engine(settings.sqlalchemy_url)
    layout = Layout(settings.data_dir)
    now = now or utcnow()
    counts = {"jobs": 0, "orphans": 0}
    if settings.retention_days > 0:
        cutoff = now - dt.timedelta(days=settings.retention_days)
        with session_scope(engine) as session:
            expired = crud.expired_jobs(session, created_before=cutoff)
        for job in expired:
            layout.erase_job(job.id, job.source_path if job.source == JobSource.UPLOAD else None)
            with session_scope(engine) as session:
                crud.delete_job(session, job_id=job.id)
            audit("job erased", customer_id=job.customer_id, job_id=job.id, reason="retention")
            counts["jobs"] += 1
    counts["orphans"] = _sweep_orphans(engine=engine, layout=layout, now=now)
    if any(counts.values()):
        log.info("retention: %s", counts)
    return counts


def _sweep_orphans(*, engine, layout: Layout, now: dt.datetime) -> int:
    old = now.timestamp() - ORPHAN_AGE_S
    candidates: dict[str, list[Path]] = {}
    leases: dict[Path, str] = {}
    for folder in (layout.uploads, layout.outputs):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = _STAGING.match(path.name)
            job_id = match.group(1) if match else path.name if _JOB_ID.match(path.name) else None
            if job_id is None or _mtime(path) > old:
                continue
            candidates.setdefault(job_id, []).append(path)
            if match:
                leases[path] = match.group(2)
    removed = 0
    with session_scope(engine) as session:
        jobs = crud.get_jobs(session, job_ids=candidates)
    for job_id, paths in candidates.items():
        job = jobs.get(job_id)
        for path in paths:
            if job is None:
                keep = False
            elif path in leases:  # staging: only the live attempt's folder stays
                keep = job.status == JobStatus.RUNNING and job.lease == leases[path]
            else:
                keep = True
            if not keep:
                remove_tree(path)
                removed += 1
    if layout.incoming.is_dir():
        for path in layout.incoming.iterdir():
            if _mtime(path) < now.timestamp() - 24 * 3600:
                remove_tree(path)
                removed += 1
    return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")


# --- archive runs -----------------------------------------------------------------------------------------


def scan_archive(*, settings: Settings, queue: JobQueue) -> dict[str, int]:
    """Enqueue each new or changed recording under `archive_dir` once, for `archive_customer`.

    A file version is keyed by (absolute path, size, mtime); files modified less than `archive_settle_s`
    ago are left for a later scan (they may still be being copied). Unreadable files become failed jobs with
    the reason, so the customer sees them and they are not probed again. A recording's markers sidecar is
    read with it (and is never taken for a recording itself); a bad one fails the job the same way.
    """
    counts = {"seen": 0, "enqueued": 0, "invalid": 0, "settling": 0}
    root = settings.archive_dir
    if root is None:
        return counts
    if not root.is_dir():
        log.warning("archive folder %s does not exist", root)
        return counts
    engine = get_engine(settings.sqlalchemy_url)
    customer_id = _archive_customer_id(engine, settings.archive_customer)
    paths = sorted(
        {
            p
            for pattern in settings.archive_patterns
            for p in root.glob(pattern)
            if p.is_file() and not p.name.endswith(MARKERS_SIDECAR)
        }
    )
    for path in paths:
        counts["seen"] += 1
        outcome = _scan_file(
            path, root=root, engine=engine, settings=settings, queue=queue, customer_id=customer_id
        )
        if outcome:
            counts[outcome] += 1
    return counts


def _scan_file(
    path: Path, *, root: Path, engine, settings: Settings, queue: JobQueue, customer_id: int
) -> str | None:
    """One archive file: "settling", "invalid" or "enqueued"; None when it cannot be read or this version
    of it was recorded before (by an earlier or a concurrent scan)."""
    sidecar = path.with_suffix(MARKERS_SIDECAR)
    try:
        stat = path.stat()
        changed = max(stat.st_mtime, sidecar.stat().st_mtime if sidecar.is_file() else 0.0)
    except OSError:
        return None
    if settings.archive_settle_s and time.time() - changed < settings.archive_settle_s:
        return "settling"
    key = crud.archive_key(path=str(path), size_bytes=stat.st_size, mtime_ns=stat.st_mtime_ns)
    with session_scope(engine) as session:
        if crud.archive_file_known(session, key=key):
            return None
    video, error = _probe_archive_file(path, settings)
    markers, markers_error = _sidecar_markers(sidecar)
    error = error or markers_error
    relative = str(path.relative_to(root))
    try:
        with session_scope(engine) as session:
            job = crud.create_job(
                session,
                job_id=uuid.uuid4().hex,
                customer_id=customer_id,
                source=JobSource.ARCHIVE,
                source_path=str(path),
                filename=relative[-255:],
                size_bytes=stat.st_size,
                options={
                    "purpose": settings.archive_purpose,
                    "consent": settings.archive_consent,
                    "markers": markers,
                },
                title=relative[-200:],
                video=video,
                status=JobStatus.FAILED if error else JobStatus.QUEUED,
                error=error,
            )
            crud.add_archive_file(
                session,
                key=key,
                path=str(path),
                size_bytes=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
                job_id=job.id,
            )
    except IntegrityError:  # a concurrent scan recorded this version first
        return None
    if error:
        log.info("archive: %s is not analysable: %s", relative, error)
        return "invalid"
    enqueue_job(engine=engine, queue=queue, job=job)
    log.info("archive: enqueued %s as job %s", relative, job.id)
    return "enqueued"


def _probe_archive_file(path: Path, settings: Settings) -> tuple[dict | None, str | None]:
    """(the recording's facts, None), or (None, why it cannot be analysed)."""
    from classpulse.video.probe import InputError, probe
    from service.limits import check_recording

    try:
        info = probe(path)
        check_recording(info, settings)
    except InputError as exc:
        return None, str(exc)
    return info.facts(), None


def _sidecar_markers(sidecar: Path) -> tuple[tuple[Marker, ...], str | None]:
    """(the markers in `sidecar`, None): none when there is no sidecar; else ((), why they cannot be used,
    naming the file and the line)."""
    if not sidecar.is_file():
        return (), None
    try:
        return read_markers(sidecar), None
    except MarkerError as exc:
        return (), str(exc)


def _archive_customer_id(engine, name: str) -> int:
    for _ in range(2):
        try:
            with session_scope(engine) as session:
                return crud.get_or_create_customer(session, name=name).id
        except IntegrityError:
            continue
    raise RuntimeError(f"could not create the archive customer {name!r}")


# --- Celery tasks (housekeeping queue) --------------------------------------------------------------------


def _run_with_queue(fn) -> dict[str, int]:
    settings = get_settings()
    queue = JobQueue(settings, app)
    try:
        return fn(settings=settings, queue=queue)
    finally:
        queue.close()


@app.task(name=REAP_TASK, acks_late=False, ignore_result=True)
def reap_task() -> dict[str, int]:
    return _run_with_queue(reap)


@app.task(name=SCAN_TASK, acks_late=False, ignore_result=True)
def scan_archive_task() -> dict[str, int]:
    return _run_with_queue(scan_archive)


@app.task(name=PURGE_TASK, acks_late=False, ignore_result=True)
def purge_task() -> dict[str, int]:
    return purge(settings=get_settings())
