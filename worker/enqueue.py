"""Enqueue a job: publish its message and record it on the job row. Used by the API (uploads), the
archive scan, the reaper and retries; light, so the API needs nothing else from the worker to enqueue."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from storage import crud
from storage.db import session_scope
from storage.models import Job
from worker.queue import JobQueue

log = logging.getLogger(__name__)


def enqueue_job(
    *, engine: Engine, queue: JobQueue, job: Job, countdown: float | None = None, reaped: bool = False
) -> bool:
    """Publish `job` and record the message on its row. On broker errors the job simply stays queued: the
    reaper publishes it again later. Returns whether the publish went through."""
    try:
        task_id = queue.publish(
            job_id=job.id, duration_s=(job.video or {}).get("duration_s"), countdown=countdown
        )
    except Exception:
        log.warning("job %s: could not publish to the broker; the reaper will retry", job.id, exc_info=True)
        return False
    with session_scope(engine) as session:
        crud.mark_enqueued(session, job_id=job.id, task_id=task_id, requeue=reaped)
    return True
