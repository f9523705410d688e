"""Archive scans, retention, the reaper's queue check and the task's claim rules, called in-process against
a real SQLite store and the test Redis (no pipeline runs)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from service.settings import Settings
from storage import crud
from storage.db import dispose_engines, get_engine, init_db, session_scope, utcnow
from storage.files import Layout
from storage.models import Job


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Iterator[Settings]:
    broker = f"{redis_url}/14"
    redis.Redis.from_url(broker).flushdb()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        broker_url=broker,
        archive_dir=tmp_path / "archive",
        archive_settle_s=0,
        heartbeat_s=1,
        reaper_stale_s=6,
        retention_days=30,
    )
    init_db(get_engine(settings.sqlalchemy_url))
    Layout(settings.data_dir).ensure()
    settings.archive_dir.mkdir()
    yield settings
    dispose_engines()


@pytest.fixture
def queue(settings: Settings):
    from worker.app import create_celery
    from worker.queue import JobQueue

    queue = JobQueue(settings, create_celery(settings))
    yield queue
    queue.close()


def _broker(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.broker_url)


def _session(settings: Settings):
    return session_scope(get_engine(settings.sqlalchemy_url))


def _job(
    settings: Settings, *, status: str = "queued", created_at: dt.datetime | None = None, **fields
) -> Job:
    import uuid

    with _session(settings) as session:
        customer = crud.get_or_create_customer(session, name="acme")
        job = crud.create_job(
            session,
            job_id=uuid.uuid4().hex,
            customer_id=customer.id,
            source="upload",
            source_path=fields.pop("source_path", None),
            filename="x.mp4",
            size_bytes=1,
            options={},
            title=None,
            video={"duration_s": 3.0},
            status=status,
        )
        for name, value in {"created_at": created_at or utcnow(), **fields}.items():
            setattr(job, name, value)
    return job


def _row(settings: Settings, job_id: str) -> Job | None:
    with _session(settings) as session:
        return crud.get_job(session, job_id=job_id)


# --- archive runs -----------------------------------------------------------------------------------------


def test_archive_scan_enqueues_each_file_version_once(settings: Settings, queue, clip: Path) -> None:
    from worker.housekeeping import scan_archive

    lecture = settings.archive_dir / "2024" / "lecture.mp4"
    lecture.parent.mkdir()
    shutil.copy(clip, lecture)
    (settings.archive_dir / "notes.mp4").write_text("not a video")
    (settings.archive_dir / "readme.txt").write_text("ignored: no pattern matches")
    broker = _broker(settings)

    first = scan_archive(settings=settings, queue=queue)
    assert first == {"seen": 2, "enqueued": 1, "invalid": 1, "settling": 0}
    assert broker.llen("analysis") == 1
    assert scan_archive(settings=settings, queue=queue) == {
        "seen": 2,
        "enqueued": 0,
        "invalid": 0,
        "settling": 0,
    }
    assert broker.llen("analysis") == 1

    stat = lecture.stat()  # touched (new mtime): a new version, enqueued again
    os.utime(lecture, ns=(stat.st_atime_ns, stat.st_mtime_ns - 5_000_000_000))
    assert scan_archive(settings=settings, queue=queue)["enqueued"] == 1
    with lecture.open("ab") as fh:  # changed content and size
        fh.write(b"\0")
    assert scan_archive(settings=settings, queue=queue)["enqueued"] == 1
    assert scan_archive(settings=settings, queue=queue)["enqueued"] == 0
    assert broker.llen("analysis") == 3

    with _session(settings) as session:
        customer = crud.get_or_create_customer(session, name=settings.archive_customer)
        jobs, count = crud.list_jobs(session, customer_id=customer.id, limit=10, offset=0)
    assert count == 4
    assert sorted((j.filename, j.status) for j in jobs) == [
        ("2024/lecture.mp4", "queued"),
        ("2024/lecture.mp4", "queued"),
        ("2024/lecture.mp4", "queued"),
        ("notes.mp4", "failed"),
    ]
    assert next(j for j in jobs if j.status == "failed").error.startswith("notes.mp4: not a readable video")
    assert all(j.source == "archive" and j.source_path.startswith(str(settings.archive_dir)) for j in jobs)


def test_archive_scan_waits_for_files_to_settle(settings: Settings, queue, clip: Path) -> None:
    from worker.housekeeping import scan_archive

    shutil.copy(clip, settings.archive_dir / "copying.mp4")
    settling = settings.model_copy(update={"archive_settle_s": 3600})
    assert scan_archive(settings=settling, queue=queue) == {
        "seen": 1,
        "enqueued": 0,
        "invalid": 0,
        "settling": 1,
    }
    assert scan_archive(settings=settings, queue=queue)["enqueued"] == 1


def test_archive_markers_sidecar_is_read_with_its_recording(settings: Settings, queue, clip: Path) -> None:
    from worker.housekeeping import scan_archive

    everything = settings.model_copy(update={"archive_glob": "**/*", "negative_stretch_minutes": 7.0})
    shutil.copy(clip, settings.archive_dir / "lecture.mp4")
    (settings.archive_dir / "lecture.markers.csv").write_bytes("\ufeff0,Intro\n0:02,Q&A\n".encode())
    shutil.copy(clip, settings.archive_dir / "seminar.mp4")
    (settings.archive_dir / "seminar.markers.csv").write_text("0,Intro\n0:30,Exercise,Q&A,extra\n")

    # The sidecars are not recordings: two files seen, one job each.
    assert scan_archive(settings=everything, queue=queue) == {
        "seen": 2,
        "enqueued": 1,
        "invalid": 1,
        "settling": 0,
    }
    with _session(settings) as session:
        customer = crud.get_or_create_customer(session, name=settings.archive_customer)
        jobs = {
            j.filename: j for j in crud.list_jobs(session, customer_id=customer.id, limit=10, offset=0)[0]
        }
    lecture, seminar = jobs["lecture.mp4"], jobs["seminar.mp4"]
    assert lecture.status == "queued" and lecture.options["markers"] == [[0, None, "Intro"], [2, None, "Q&A"]]
    assert (seminar.status, seminar.error) == (
        "failed",
        "seminar.markers.csv: line 2: expected start,label or start,end,label, got 4 fields",
    )
    # The worker passes them on, with the deployment's negative stretch (the archive job sets none).
    options = _runner(everything, queue).job_options(lecture)
    assert options.markers == ((0, None, "Intro"), (2, None, "Q&A")) and options.negative_stretch_min == 7


# --- retention --------------------------------------------------------------------------------------------


def test_retention_purges_old_finished_jobs_and_orphans(settings: Settings) -> None:
    from worker.housekeeping import purge

    layout = Layout(settings.data_dir)
    now = utcnow()
    old = now - dt.timedelta(days=31)
    jobs = {
        name: _job(settings, status=status, created_at=created)
        for name, status, created in (
            ("old_done", "succeeded", old),
            ("old_failed", "failed", old),
            ("old_running", "running", old),
            ("new_done", "succeeded", now),
        )
    }
    for job in jobs.values():
        upload = layout.upload_path(job.id, "x.mp4")
        upload.parent.mkdir(parents=True)
        upload.write_bytes(b"video")
        layout.output_dir(job.id).mkdir()
        (layout.output_dir(job.id) / "report.pdf").write_bytes(b"%PDF")
        with _session(settings) as session:
            crud.set_source_path(session, job_id=job.id, source_path=str(upload))
    with _session(settings) as session:
        crud.add_archive_file(
            session, key="k" * 64, path="/a.mp4", size_bytes=1, mtime_ns=1, job_id=jobs["old_done"].id
        )
    orphan_old, orphan_new = layout.output_dir("a" * 32), layout.output_dir("b" * 32)
    dead_staging = layout.staging_dir(jobs["new_done"].id, "c" * 32)
    for folder in (orphan_old, orphan_new, dead_staging):
        folder.mkdir()
    hour_ago = now.timestamp() - 7200
    for folder in (orphan_old, dead_staging):
        os.utime(folder, (hour_ago, hour_ago))

    counts = purge(settings=settings, now=now)

    assert counts == {"jobs": 2, "orphans": 2}
    for name in ("old_done", "old_failed"):
        assert _row(settings, jobs[name].id) is None
        assert not layout.output_dir(jobs[name].id).exists() and not (layout.uploads / jobs[name].id).exists()
    for name in ("old_running", "new_done"):
        assert _row(settings, jobs[name].id) is not None and layout.output_dir(jobs[name].id).is_dir()
    assert not orphan_old.exists() and orphan_new.exists() and not dead_staging.exists()
    with _session(settings) as session:  # the archive file version is remembered, without its job
        assert crud.archive_file_known(session, key="k" * 64)
    # retention_days=0 keeps jobs forever (the orphan sweep still runs: orphan_new is now old enough).
    later = now + dt.timedelta(days=99)
    assert purge(settings=settings.model_copy(update={"retention_days": 0}), now=later) == {
        "jobs": 0,
        "orphans": 1,
    }
    assert _row(settings, jobs["new_done"].id) is not None


def test_the_orphan_sweep_reads_the_candidate_jobs_in_chunks(settings: Settings, monkeypatch) -> None:
    monkeypatch.setattr(crud, "IDS_PER_QUERY", 2)
    jobs = [_job(settings) for _ in range(5)]
    with _session(settings) as session:
        found = crud.get_jobs(session, job_ids=[job.id for job in jobs] + ["f" * 32])
    assert sorted(found) == sorted(job.id for job in jobs)
    assert {job.id: job.status for job in found.values()} == {job.id: "queued" for job in jobs}


# --- the reaper -------------------------------------------------------------------------------------------


def test_reaper_requeues_only_jobs_the_broker_lost(settings: Settings, queue) -> None:
    from worker.enqueue import enqueue_job
    from worker.housekeeping import reap

    long_ago = utcnow() - dt.timedelta(minutes=10)
    waiting = _job(settings, created_at=long_ago)
    enqueue_job(engine=get_engine(settings.sqlalchemy_url), queue=queue, job=waiting)
    with _session(settings) as session:  # queued ten minutes ago, behind a long backlog: still in Redis
        session.get(Job, waiting.id).enqueued_at = long_ago
    assert reap(settings=settings, queue=queue) == {"requeued_running": 0, "requeued_queued": 0, "failed": 0}
    assert _broker(settings).llen("analysis") == 1

    _broker(settings).flushdb()  # the broker lost it
    assert reap(settings=settings, queue=queue)["requeued_queued"] == 1
    assert _broker(settings).llen("analysis") == 1 and _row(settings, waiting.id).requeues == 1

    stale = utcnow() - dt.timedelta(seconds=60)
    lost = _job(settings, status="running", heartbeat_at=stale, attempts=1, lease="l" * 32)
    doomed = _job(settings, status="running", heartbeat_at=stale, attempts=3, lease="m" * 32)
    alive = _job(settings, status="running", heartbeat_at=utcnow(), attempts=1, lease="n" * 32)
    counts = reap(settings=settings, queue=queue)
    assert counts == {"requeued_running": 1, "requeued_queued": 0, "failed": 1}
    assert _row(settings, lost.id).status == "queued" and _row(settings, lost.id).lease is None
    assert _row(settings, doomed.id).status == "failed" and "3 attempts" in _row(settings, doomed.id).error
    assert _row(settings, alive.id).status == "running"


# --- the task's claim rules (idempotency, retries, attempt guard) ------------------------------------------


def _runner(settings: Settings, queue):
    from worker.jobs import JobRunner

    return JobRunner(settings=settings, queue=queue, worker_name="test")


def _upload_job(settings: Settings, content: Path | bytes) -> Job:
    """A queued upload job whose recording is a copy of `content` (a clip) or those bytes."""
    import uuid

    upload = Layout(settings.data_dir).upload_path(uuid.uuid4().hex, "x.mp4")
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    return _job(settings, source_path=str(upload))


def _disk_error_midway(video: Path, out_dir: Path, options, on_progress) -> dict:
    """Injects a transient OSError part-way through: a real disk error cannot be provoked in a test (root
    ignores permissions), and the retry rules are what is under test here, not the analysis."""
    on_progress("analysing frames", 0.5)
    raise OSError("disk hiccup")


def test_task_is_idempotent(settings: Settings, queue, clip: Path) -> None:
    runner = _runner(settings, queue)
    job = _upload_job(settings, clip)
    assert runner.run(job.id, task_id="t1") == "succeeded"
    row = _row(settings, job.id)
    assert (row.status, row.attempts, row.progress, row.source_path) == ("succeeded", 1, 100.0, None)
    assert not Path(job.source_path).exists()  # the upload is deleted after success
    assert runner.run(job.id, task_id="t1", redelivered=True) == "finished"
    assert _row(settings, job.id).attempts == 1
    assert runner.run("0" * 32, task_id="t2") == "missing"


def test_live_job_is_not_taken_over_except_by_its_redelivered_message(settings: Settings, queue) -> None:
    runner = _runner(settings, queue)
    job = _job(
        settings,
        status="running",
        heartbeat_at=utcnow(),
        attempts=1,
        lease="a" * 32,
        task_id="t1",
        source_path="/nonexistent.mp4",
    )
    assert runner.run(job.id, task_id="t2") == "busy"
    assert runner.run(job.id, task_id="t1", redelivered=False) == "busy"
    # The same message, redelivered because its worker died (reject_on_worker_lost): it takes over.
    assert runner.run(job.id, task_id="t1", redelivered=True) == "failed"
    row = _row(settings, job.id)
    assert row.attempts == 2 and "no longer available" in row.error


def test_input_error_fails_at_once_and_transient_errors_retry_with_backoff(
    settings: Settings, queue, clip: Path
) -> None:
    runner = _runner(settings, queue)
    bad = _upload_job(settings, b"lecture notes, not a video\n" * 40)
    assert runner.run(bad.id) == "failed"
    row = _row(settings, bad.id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error.startswith("x.mp4: not a readable video")

    flaky = _upload_job(settings, clip)
    broker = _broker(settings)
    broker.delete("analysis")
    for attempt in (1, 2):
        assert runner.run(flaky.id, analyze=_disk_error_midway) == "retry"
        row = _row(settings, flaky.id)
        assert (row.status, row.attempts) == ("queued", attempt)
        assert row.stage == f"retrying in {30 * 2 ** (attempt - 1)} s after an error while analysing frames"
        assert broker.llen("analysis") == attempt  # re-published with a countdown (eta)
    assert runner.run(flaky.id, analyze=_disk_error_midway) == "failed"
    row = _row(settings, flaky.id)
    assert row.attempts == 3 and "gave up after 3 attempts" in row.error and "OSError" in row.error
    assert "disk hiccup" not in row.error  # internals stay in the worker log
    assert not list(Layout(settings.data_dir).outputs.glob(".staging-*"))


def test_keep_uploads_keeps_the_recording(settings: Settings, queue, clip: Path) -> None:
    keeping = settings.model_copy(update={"keep_uploads": True})
    job = _upload_job(keeping, clip)
    assert _runner(keeping, queue).run(job.id) == "succeeded"
    assert Path(job.source_path).is_file() and _row(keeping, job.id).source_path == job.source_path
    Layout(keeping.data_dir).erase_job(job.id, job.source_path)  # erasure removes it regardless
    assert not Path(job.source_path).exists()


def test_deterministic_errors_fail_at_once(settings: Settings, queue, tmp_path: Path) -> None:
    from tests.helpers.video import tiny_video

    # Issue 17: a 2x2 recording was retried three times as transient, then failed as "internal error".
    tiny = tmp_path / "tiny.mp4"
    tiny_video(tiny)
    runner = _runner(settings, queue)
    small = _upload_job(settings, tiny)
    assert runner.run(small.id) == "failed"
    row = _row(settings, small.id)
    assert (row.attempts, row.error) == (
        1,
        "x.mp4: 2x2 pixels is too small to contain a face (at least 12 px on each side)",
    )
    # Options the analysis refuses (a ValueError from the real AnalysisOptions): no retry either.
    bad_options = _upload_job(settings, tiny)
    with _session(settings) as session:
        crud.get_job(session, job_id=bad_options.id).options = {"detect_every_s": 0}
    assert runner.run(bad_options.id) == "failed"
    row = _row(settings, bad_options.id)
    assert row.attempts == 1 and row.error.startswith("internal error while starting (ValueError)")
    assert "gave up" not in row.error
