"""Celery tasks for analysis: thin wrappers that hand a job id to `worker.jobs.JobRunner`."""

from __future__ import annotations

import logging

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError

from service.settings import get_settings
from worker.app import ANALYZE_TASK, CHUNK_TASK, app
from worker.jobs import JobRunner
from worker.queue import JobQueue

log = logging.getLogger(__name__)


class AnalysisTask(Task):
    """Holds one `JobRunner` per worker process, built on first use (after the fork)."""

    _runner: JobRunner | None = None

    def runner(self) -> JobRunner:
        if self._runner is None:
            settings = get_settings()
            self._runner = JobRunner(
                settings=settings,
                queue=JobQueue(settings, self.app),
                worker_name=self.request.hostname or "worker",
            )
        return self._runner


@app.task(
    name=ANALYZE_TASK,
    bind=True,
    base=AnalysisTask,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=None,
)
def analyze_job(self: AnalysisTask, job_id: str) -> str:
    """Analyse the recording of job `job_id`. Idempotent: a duplicate delivery of a finished, deleted or
    live job does nothing. Retries and attempt limits are kept in the job row, not in Celery."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        return self.runner().run(job_id, task_id=self.request.id, redelivered=redelivered)
    except (OperationalError, InterfaceError) as exc:
        # The database is unreachable (or locked for too long): the job row cannot even be read, so Celery
        # re-publishes this message with exponential backoff until the database is back.
        countdown = get_settings().retry_delay_s(self.request.retries)
        log.warning("job %s: database unavailable, retrying in %.0f s", job_id, countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc


@app.task(
    name=CHUNK_TASK,
    bind=True,
    base=AnalysisTask,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def analyze_chunk(self: AnalysisTask, job_id: str, lease: str, index: int, chunk_s: float) -> str:
    """Analyse chunk `index` of a long recording for the attempt `lease` of job `job_id` (see
    `worker.chunk_claims`). Idempotent: a chunk already claimed or an attempt already over is left alone."""
    return self.runner().run_chunk(job_id, lease, index, chunk_s)
