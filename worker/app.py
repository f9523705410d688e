"""The Celery application, configured from `Settings` (lowercase setting names).

Two queues: `analysis` (long jobs, consumed by `classpulse worker`) and `housekeeping` (the reaper, archive
scans and retention, consumed by `classpulse beat`, which embeds the scheduler), so a fleet busy with
hour-long recordings never delays the reaper that rescues lost jobs.

`celery -A worker.app worker` works too: the module-level `app` reads the environment at import.
"""

from __future__ import annotations

from datetime import timedelta

from celery import Celery
from celery.signals import worker_init, worker_process_init

from service.settings import Settings, get_settings

ANALYSIS_QUEUE = "analysis"
HOUSEKEEPING_QUEUE = "housekeeping"
ANALYZE_TASK = "classpulse.analyze_job"
CHUNK_TASK = "classpulse.analyze_chunk"
REAP_TASK = "classpulse.housekeeping.reap"
PURGE_TASK = "classpulse.housekeeping.purge"
SCAN_TASK = "classpulse.housekeeping.scan_archive"


def beat_schedule(settings: Settings) -> dict[str, dict]:
    """Periodic housekeeping; a message expires after one period, so a stopped consumer causes no pile-up."""
    schedule: dict[str, dict] = {
        "reap-lost-jobs": {
            "task": REAP_TASK,
            "schedule": timedelta(seconds=settings.reaper_interval_s),
            "options": {"expires": settings.reaper_interval_s},
        },
    }
    # Retention (when retention_days > 0) and the sweep of files that belong to no job.
    period = settings.retention_interval_minutes * 60
    schedule["purge-expired-jobs"] = {
        "task": PURGE_TASK,
        "schedule": timedelta(seconds=period),
        "options": {"expires": period},
    }
    if settings.archive_dir is not None:
        period = settings.archive_scan_minutes * 60
        schedule["scan-archive"] = {
            "task": SCAN_TASK,
            "schedule": timedelta(seconds=period),
            "options": {"expires": period},
        }
    return schedule


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("classpulse", broker=settings.broker_url, include=["worker.tasks", "worker.housekeeping"])
    app.conf.update(
        # The job table is the source of truth: no result backend.
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        task_default_queue=ANALYSIS_QUEUE,
        task_routes={"classpulse.housekeeping.*": {"queue": HOUSEKEEPING_QUEUE}},
        # A message is acknowledged when the job ends, not when it starts: a worker that dies loses nothing.
        task_acks_late=True,
        # A child killed mid-job (OOM, SIGKILL) puts the message back at once; the job row's attempt counter
        # stops a poison recording from being redelivered forever.
        task_reject_on_worker_lost=True,
        # One reserved message per process: a job waiting behind a two-hour recording can go to a free worker.
        worker_prefetch_multiplier=1,
        # Redis re-delivers an unacknowledged message after the visibility timeout. It must exceed the
        # longest hard time limit, or a healthy long job would be started twice.
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            "socket_connect_timeout": 5,
        },
        broker_connection_retry_on_startup=True,
        # A Redis blip must not kill an hour of analysis: the job keeps running; if its message is redelivered
        # later, the task sees the finished job and does nothing.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # Publishing from the API fails fast when Redis is down; the reaper re-publishes such jobs.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_redirect_stdouts=False,
        beat_schedule=beat_schedule(settings),
    )
    return app


@worker_init.connect
def _create_schema(**_kwargs) -> None:
    """Create missing tables before consuming; then drop the pool so no connection crosses the fork."""
    from storage.db import dispose_engines, get_engine, init_db

    init_db(get_engine(get_settings().sqlalchemy_url))
    dispose_engines()


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs) -> None:
    """A prefork child must not share the parent's database connections."""
    from storage.db import dispose_engines

    dispose_engines(close=False)


app = create_celery()
