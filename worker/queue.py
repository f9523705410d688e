"""Publishing analysis jobs, and telling whether the broker still holds a queued job's message.

Every publication also sets a small marker key in the broker's Redis (`classpulse:enqueued:<job id>`). The
marker lives and dies with the queue: a FLUSHALL, or a Redis restart without persistence, removes both, and
the reaper re-publishes queued jobs whose marker is gone. A long but healthy queue keeps its markers, so
jobs waiting behind a backlog are never duplicated.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

import redis
from celery import Celery

from service.settings import Settings
from worker.app import ANALYSIS_QUEUE, ANALYZE_TASK, CHUNK_TASK

log = logging.getLogger(__name__)

MARKER_PREFIX = "classpulse:enqueued:"


class JobQueue:
    """Publishes `analyze_job` messages with per-job time limits; keeps the broker markers."""

    def __init__(self, settings: Settings, app: Celery):
        self.settings = settings
        self.app = app
        self._redis: redis.Redis | None = None
        if settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
            self._redis = redis.Redis.from_url(
                settings.broker_url, socket_connect_timeout=5, socket_timeout=10
            )

    @property
    def tracks_markers(self) -> bool:
        return self._redis is not None

    def publish(self, *, job_id: str, duration_s: float | None, countdown: float | None = None) -> str:
        """Send the job to the analysis queue; returns the message's task id. Raises on broker errors."""
        soft, hard = self.settings.job_time_limits(duration_s)
        task_id = uuid.uuid4().hex
        self.app.send_task(
            ANALYZE_TASK,
            args=[job_id],
            task_id=task_id,
            queue=ANALYSIS_QUEUE,
            soft_time_limit=soft,
            time_limit=hard,
            countdown=countdown,
        )
        # After the publish: a crash in between leaves no marker, so the reaper re-publishes (a harmless
        # duplicate), never a marker without a message (which would strand the job).
        if self._redis is not None:
            self._redis.set(MARKER_PREFIX + job_id, task_id)
        return task_id

    def publish_chunk(self, *, job_id: str, lease: str, index: int, chunk_s: float) -> None:
        """Offer chunk `index` of attempt `lease` to any worker. No marker: the attempt that published it
        analyses the chunk itself if no worker has claimed it by the time it gets there."""
        soft, hard = self.settings.job_time_limits(chunk_s)
        self.app.send_task(
            CHUNK_TASK,
            args=[job_id, lease, index, chunk_s],
            queue=ANALYSIS_QUEUE,
            soft_time_limit=soft,
            time_limit=hard,
        )

    def forget(self, job_id: str) -> None:
        """Drop the marker once a worker owns the job (its heartbeat takes over as the liveness signal)."""
        if self._redis is not None:
            try:
                self._redis.delete(MARKER_PREFIX + job_id)
            except redis.RedisError:
                log.warning("could not delete the queue marker of job %s", job_id, exc_info=True)

    def missing_from_broker(self, job_ids: Iterable[str]) -> set[str]:
        """The jobs among `job_ids` whose message the broker has lost. Raises when the broker is down."""
        ids = list(job_ids)
        if self._redis is None or not ids:
            return set(ids) if self._redis is None else set()
        present = self._redis.mget([MARKER_PREFIX + job_id for job_id in ids])
        return {job_id for job_id, value in zip(ids, present, strict=True) if value is None}

    def ping(self) -> None:
        """Raise if the broker is unreachable."""
        if self._redis is not None:
            self._redis.ping()
            return
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
