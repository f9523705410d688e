"""One attempt at one job: claim the row, run the pipeline into a staging folder, publish the outputs.

Kept apart from Celery so it can be called (and tested) in-process; `worker.tasks.analyze_job` is the thin
Celery wrapper. Outcomes are short strings (`succeeded`, `failed`, `retry`, `cancelled`, or a claim outcome
such as `finished` for a duplicate delivery).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from classpulse.chunks import Chunk, chunks_of
from classpulse.options import AnalysisOptions
from classpulse.policy import MissingDeclaration, ProhibitedUse, check_job, effective_policy
from classpulse.progress import Stage
from classpulse.results import Summary
from classpulse.video.probe import InputError, probe
from service.settings import Settings
from storage import crud
from storage.db import get_engine, session_scope, utcnow
from storage.files import Layout, remove_tree
from storage.models import Job, JobSource, JobStatus
from worker.chunk_claims import ChunkFolder, run_chunk
from worker.enqueue import enqueue_job
from worker.queue import JobQueue

log = logging.getLogger(__name__)

#: Overall percent range of each pipeline stage (`on_progress` reports a fraction within the stage).
STAGE_SPANS: dict[Stage, tuple[float, float]] = {
    Stage.PROBING: (0.0, 2.0),
    Stage.ANALYSING: (2.0, 90.0),
    Stage.SUMMARISING: (90.0, 93.0),
    Stage.WRITING: (93.0, 99.0),
    Stage.DONE: (99.0, 99.0),
}


#: Longest wait (seconds) between looks at chunks analysed by other workers.
CHUNK_POLL_S = 2.0

#: Errors that another attempt may not meet: disk, network and database hiccups, memory held by other jobs.
#: Anything else (a ValueError deep in the analysis, a bug) happens again on every attempt: fail at once.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OSError, MemoryError, OperationalError, InterfaceError)


class JobCancelled(Exception):
    """The job was deleted (erasure) or taken over by another attempt: stop at once and clean up."""


def overall_progress(stage: Stage, fraction: float, previous: float) -> float:
    """Percent 0-100 for (stage, fraction within stage); never moves backwards."""
    low, high = STAGE_SPANS[stage]
    return max(previous, round(low + (high - low) * min(max(fraction, 0.0), 1.0), 1))


class Heartbeat:
    """A thread that writes heartbeat and progress to the job row while the pipeline runs.

    The pipeline thread only calls `report()` (no I/O). Every `flush_s` the thread writes new progress, and
    at least every `heartbeat_s` a heartbeat; a write that matches no row means the lease is gone (the job
    was deleted or re-queued), which sets `lost` so the next `report()` raises `JobCancelled`.
    """

    def __init__(self, *, settings: Settings, job_id: str, lease: str):
        self.engine = get_engine(settings.sqlalchemy_url)
        self.job_id, self.lease = job_id, lease
        self.heartbeat_s, self.flush_s = settings.heartbeat_s, settings.progress_flush_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stage, self._progress, self._dirty = "starting", 0.0, False
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id[:8]}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def stage(self) -> str:
        return self._stage

    def report(self, stage: Stage, fraction: float) -> None:
        """`on_progress` for the pipeline."""
        if self.lost.is_set():
            raise JobCancelled(f"job {self.job_id} was deleted or re-assigned")
        with self._lock:
            progress = overall_progress(stage, fraction, self._progress)
            if stage != self._stage or progress != self._progress:
                self._stage, self._progress, self._dirty = stage, progress, True

    def _run(self) -> None:
        last_beat = time.monotonic()
        while not self._stop.wait(self.flush_s):
            with self._lock:
                dirty, stage, progress = self._dirty, self._stage, self._progress
                self._dirty = False
            if not dirty and time.monotonic() - last_beat < self.heartbeat_s:
                continue
            try:
                with session_scope(self.engine) as session:
                    alive = crud.touch_job(
                        session,
                        job_id=self.job_id,
                        lease=self.lease,
                        progress=progress if dirty else None,
                        stage=stage if dirty else None,
                    )
            except Exception:  # a database hiccup: try again next tick; the reaper allows several misses
                log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
                continue
            last_beat = time.monotonic()
            if not alive:
                self.lost.set()
                return


def drop_upload(*, engine: Engine, settings: Settings, job: Job) -> None:
    """Uploads go once their job has ended (faces are personal data) unless CLASSPULSE_KEEP_UPLOADS is set.
    Archive recordings are never touched."""
    if job.source != JobSource.UPLOAD or settings.keep_uploads or not job.source_path:
        return
    Layout(settings.data_dir).remove_upload(job.source_path)
    with session_scope(engine) as session:
        crud.set_source_path(session, job_id=job.id, source_path=None)


def _customer_error(exc: BaseException, stage: str) -> str:
    return f"internal error while {stage} ({type(exc).__name__}); details are in the worker log"


class JobRunner:
    """Runs attempts of jobs for one worker process."""

    def __init__(self, *, settings: Settings, queue: JobQueue, worker_name: str):
        self.settings, self.queue, self.worker_name = settings, queue, worker_name
        self.engine = get_engine(settings.sqlalchemy_url)
        self.layout = Layout(settings.data_dir)

    def run(
        self,
        job_id: str,
        *,
        task_id: str | None = None,
        redelivered: bool = False,
        analyze: Callable | None = None,
    ) -> str:
        """One attempt. `analyze` defaults to `reports.outputs.analyze_to_dir` (imported lazily, so the
        parent worker process never loads torch before forking)."""
        lease = uuid.uuid4().hex
        stale_before = utcnow() - dt.timedelta(seconds=self.settings.reaper_stale_s)
        with session_scope(self.engine) as session:
            claim = crud.claim_job(
                session,
                job_id=job_id,
                lease=lease,
                worker=self.worker_name,
                task_id=task_id,
                redelivered=redelivered,
                stale_before=stale_before,
                max_attempts=self.settings.job_max_attempts,
            )
        if claim.outcome is not crud.ClaimOutcome.CLAIMED:
            log.info("job %s: %s, nothing to do", job_id, claim.outcome.value)
            if claim.outcome in (
                crud.ClaimOutcome.MISSING,
                crud.ClaimOutcome.FINISHED,
                crud.ClaimOutcome.EXHAUSTED,
            ):
                self.queue.forget(job_id)
            if claim.outcome is crud.ClaimOutcome.EXHAUSTED and claim.job is not None:
                self._drop_upload(claim.job)
            return claim.outcome.value
        job = claim.job
        assert job is not None
        self.queue.forget(job_id)
        for leftover in self.layout.staging_dirs(job_id):  # a dead attempt's partial outputs
            remove_tree(leftover)
        staging = self.layout.staging_dir(job_id, lease)
        log.info("job %s: attempt %d (lease %s) on %s", job_id, job.attempts, lease[:8], self.worker_name)
        heartbeat = Heartbeat(settings=self.settings, job_id=job_id, lease=lease)
        try:
            with heartbeat:
                summary = self._analyze(job, staging, heartbeat, analyze)
        except JobCancelled:
            remove_tree(staging)
            log.info("job %s: cancelled (deleted or re-assigned)", job_id)
            return "cancelled"
        except SoftTimeLimitExceeded:
            soft, _ = self.settings.job_time_limits((job.video or {}).get("duration_s"))
            return self._fail(job, lease, staging, f"the analysis took longer than its time limit ({soft} s)")
        except Exception as exc:
            if isinstance(exc, InputError):
                return self._fail(job, lease, staging, str(exc))
            if not isinstance(exc, TRANSIENT_ERRORS):
                log.error("job %s: deterministic error while %s", job_id, heartbeat.stage, exc_info=exc)
                return self._fail(job, lease, staging, _customer_error(exc, heartbeat.stage))
            return self._retry_or_fail(job, lease, staging, exc, heartbeat)
        return self._publish(job, lease, staging, summary)

    def _analyze(self, job: Job, staging: Path, heartbeat: Heartbeat, analyze: Callable | None) -> Summary:
        from reports.outputs import analyze_to_dir

        if not job.source_path or not Path(job.source_path).is_file():
            raise InputError(f"{job.filename}: the recording is no longer available")
        options = self.job_options(job)
        chunk_s = self.settings.chunk_minutes * 60
        # Chunks hand their tracks to the stitcher through files, so only a policy that writes per-face
        # results anyway may be chunked: under the others nothing per face ever touches the disk.
        if (
            analyze is None
            and options.policy.per_face
            and 0 < chunk_s < ((job.video or {}).get("duration_s") or 0)
        ):
            return self._analyze_in_chunks(job, staging, heartbeat, chunk_s)
        return (analyze or analyze_to_dir)(
            Path(job.source_path), staging, options, on_progress=heartbeat.report
        )

    def _analyze_in_chunks(self, job: Job, staging: Path, heartbeat: Heartbeat, chunk_s: float) -> Summary:
        """Offer the chunks to every worker, analyse the ones nobody took (or whose worker died), stitch
        them and write the outputs into `staging` (see `worker.chunk_claims`)."""
        from classpulse.pipeline import combine_chunks
        from reports.outputs import write_outputs

        info, options = probe(Path(job.source_path)), self.job_options(job)
        heartbeat.report(Stage.PROBING, 1.0)
        chunks = chunks_of(info, options.max_fps, chunk_s)
        folder = ChunkFolder(staging)
        folder.create()
        for chunk in chunks[1:]:
            try:
                self.queue.publish_chunk(
                    job_id=job.id, lease=heartbeat.lease, index=chunk.index, chunk_s=chunk_s
                )
            except Exception:  # the broker is down: this attempt analyses that chunk itself
                log.warning("job %s: could not offer chunk %d", job.id, chunk.index, exc_info=True)
        log.info("job %s: %d chunks of %.0f s offered", job.id, len(chunks), chunk_s)
        while left := [c for c in chunks if not folder.done(c.index)]:
            done = len(chunks) - len(left)
            mine = next(
                (
                    c
                    for c in left
                    if folder.take_over(c.index, self.worker_name, self.settings.reaper_stale_s)
                ),
                None,
            )
            if mine is None:  # every chunk left is being analysed elsewhere
                heartbeat.report(Stage.ANALYSING, done / len(chunks))
                time.sleep(min(self.settings.heartbeat_s, CHUNK_POLL_S))
                continue

            def progress(_stage: Stage, fraction: float, done: int = done) -> None:
                heartbeat.report(Stage.ANALYSING, (done + fraction) / len(chunks))

            self._run_chunk(folder, info, options, mine, progress)
        results = [folder.load(c.index) for c in chunks]
        remove_tree(folder.path)
        result = combine_chunks(info, options, results, heartbeat.report)
        heartbeat.report(Stage.WRITING, 0.0)
        write_outputs(result, staging)
        heartbeat.report(Stage.DONE, 1.0)
        return result.summary

    def _run_chunk(
        self, folder: ChunkFolder, info, options, chunk: Chunk, progress: Callable | None = None
    ) -> None:
        from classpulse.pipeline import analyze_chunk

        log.info("job chunk %d (frames %d-%s) on %s", chunk.index, chunk.start, chunk.end, self.worker_name)
        run_chunk(
            folder,
            chunk.index,
            lambda: analyze_chunk(info, options, chunk, progress),
            touch_every_s=self.settings.heartbeat_s,
        )

    def run_chunk(self, job_id: str, lease: str, index: int, chunk_s: float) -> str:
        """A chunk offered by attempt `lease` of job `job_id`: analyse it unless the attempt is over or
        someone else has it. An error releases the chunk to the owning attempt (which then meets it)."""
        with session_scope(self.engine) as session:
            job = crud.get_job(session, job_id=job_id)
        if job is None or job.lease != lease or job.status != JobStatus.RUNNING:
            return "stale"
        folder = ChunkFolder(self.layout.staging_dir(job_id, lease))
        if not folder.exists() or not folder.claim(index, self.worker_name):
            return "taken"
        try:
            info, options = probe(Path(job.source_path)), self.job_options(job)
            chunk = chunks_of(info, options.max_fps, chunk_s)[index]
            self._run_chunk(folder, info, options, chunk)
        except Exception:
            log.warning(
                "job %s: chunk %d failed here; its attempt takes it back", job_id, index, exc_info=True
            )
            return "released"
        return "done"

    def job_options(self, job: Job) -> AnalysisOptions:
        """The job's options under the deployment's current rules: the stricter policy (archive jobs, which
        ask for none, get the deployment's), and the job refused (`InputError`, the reason for the customer)
        if the rules now forbid it. A job that sets no negative stretch gets the deployment's."""
        policy = effective_policy(self.settings.policy, job.options.get("policy"))
        defaults = {"negative_stretch_min": self.settings.negative_stretch_minutes}
        try:
            options = AnalysisOptions(
                **{**defaults, **job.options, "title": job.title, "course": job.course, "policy": policy}
            )
            check_job(
                policy,
                options.purpose,
                options.consent,
                jurisdiction=self.settings.jurisdiction,
                require_consent=self.settings.require_consent,
            )
        except (MissingDeclaration, ProhibitedUse) as exc:
            raise InputError(str(exc)) from None
        return options

    def _publish(self, job: Job, lease: str, staging: Path, summary: Summary) -> str:
        """Move the staging folder to outputs/<job id> and record success, unless the job was deleted."""
        with session_scope(self.engine) as session:
            ours = crud.touch_job(
                session, job_id=job.id, lease=lease, progress=99.5, stage="publishing outputs"
            )
        if not ours:
            remove_tree(staging)
            return "cancelled"
        final = self.layout.output_dir(job.id)
        remove_tree(final)  # an attempt that renamed its outputs but died before recording success
        staging.rename(final)
        wall_s = summary.processing.wall_s
        decoded = summary.video
        video = None
        if decoded.warning:  # the customer sees on the job what the report says
            video = {**(job.video or {}), "duration_s": decoded.duration_s, "warning": decoded.warning}
        with session_scope(self.engine) as session:
            recorded = crud.finish_job(
                session, job_id=job.id, lease=lease, succeeded=True, wall_s=wall_s, video=video
            )
        if not recorded:  # deleted while we were renaming: erase what we just published
            remove_tree(final)
            return "cancelled"
        self._drop_upload(job)
        log.info("job %s: succeeded in %.1f s", job.id, wall_s)
        return "succeeded"

    def _fail(self, job: Job, lease: str, staging: Path, error: str) -> str:
        remove_tree(staging)
        with session_scope(self.engine) as session:
            recorded = crud.finish_job(session, job_id=job.id, lease=lease, succeeded=False, error=error)
        if recorded:
            self._drop_upload(job)
        log.info("job %s: failed: %s", job.id, error)
        return "failed" if recorded else "cancelled"

    def _retry_or_fail(
        self, job: Job, lease: str, staging: Path, exc: Exception, heartbeat: Heartbeat
    ) -> str:
        stage = heartbeat.stage
        log.error("job %s: attempt %d failed while %s", job.id, job.attempts, stage, exc_info=exc)
        if job.attempts >= self.settings.job_max_attempts:
            return self._fail(
                job, lease, staging, f"{_customer_error(exc, stage)}; gave up after {job.attempts} attempts"
            )
        remove_tree(staging)
        delay = self.settings.retry_delay_s(job.attempts - 1)
        with session_scope(self.engine) as session:
            released = crud.release_job(
                session,
                job_id=job.id,
                lease=lease,
                stage=f"retrying in {delay:.0f} s after an error while {stage}",
            )
        if not released:
            return "cancelled"
        self.requeue(job, countdown=delay)
        return "retry"

    def requeue(self, job: Job, *, countdown: float | None = None) -> None:
        enqueue_job(engine=self.engine, queue=self.queue, job=job, countdown=countdown)

    def _drop_upload(self, job: Job) -> None:
        drop_upload(engine=self.engine, settings=self.settings, job=job)
