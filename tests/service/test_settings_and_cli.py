"""Settings validation, Celery configuration derived from it, and the `keys` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from pydantic import ValidationError

from service.settings import HARD_LIMIT_GRACE_S, Settings
from tests.helpers.service import REPO


def test_defaults_and_derived_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("CLASSPULSE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = Settings()
    assert settings.data_dir == tmp_path / "classpulse"
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'classpulse' / 'classpulse.db'}"
    assert settings.broker_url == "redis://localhost:6379/0"
    assert settings.max_upload_bytes == 4096 * 1024 * 1024 and settings.keep_uploads is False
    assert (settings.max_image_pixels, settings.max_video_pixels) == (50_000_000, 7680 * 4320)
    assert (settings.max_video_duration_s, settings.upload_idle_timeout_s) == (4 * 3600, 60)
    # Time limits scale with the recording and are capped; the visibility timeout outlasts the longest job.
    assert settings.job_time_limits(60) == (600 + 4 * 60, 600 + 4 * 60 + HARD_LIMIT_GRACE_S)
    assert settings.job_time_limits(10 * 3600) == (6 * 3600, 6 * 3600 + HARD_LIMIT_GRACE_S)
    assert settings.visibility_timeout_s > settings.job_time_limits(None)[1]
    # One backoff for retried attempts and for database outages: doubling from 30 s, capped at 600 s.
    assert [settings.retry_delay_s(n) for n in range(6)] == [30, 60, 120, 240, 480, 600]
    assert Settings(retry_backoff_s=0).retry_delay_s(0) == 1.0


def test_environment_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLASSPULSE_DATABASE_URL", "postgresql://u@db:5432/classpulse")
    monkeypatch.setenv("CLASSPULSE_KEEP_UPLOADS", "true")
    monkeypatch.setenv("CLASSPULSE_ARCHIVE_DIR", "")
    settings = Settings()
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@db:5432/classpulse"
    assert settings.keep_uploads is True and settings.archive_dir is None
    for bad in (
        {"max_upload_mb": 0},
        {"database_url": "mysql://x"},
        {"heartbeat_s": 60, "reaper_stale_s": 120},
        {"job_time_base_s": 10, "job_time_max_s": 5},
        {"archive_glob": "/etc/*.mp4"},
        {"log_level": "chatty"},
    ):
        with pytest.raises(ValidationError):
            Settings(**bad)


def test_celery_configuration(tmp_path: Path) -> None:
    from worker.app import REAP_TASK, SCAN_TASK, create_celery

    settings = Settings(data_dir=tmp_path, job_time_max_s=7200, archive_dir=tmp_path)
    conf = create_celery(settings).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == settings.visibility_timeout_s > 7200
    schedule = {entry["task"] for entry in conf.beat_schedule.values()}
    assert {REAP_TASK, SCAN_TASK} <= schedule
    assert conf.task_routes["classpulse.housekeeping.*"] == {"queue": "housekeeping"}


def test_published_message_carries_scaled_time_limits(tmp_path: Path, redis_url: str) -> None:
    from worker.app import create_celery
    from worker.queue import JobQueue

    settings = Settings(data_dir=tmp_path, broker_url=f"{redis_url}/13")
    broker = redis.Redis.from_url(settings.broker_url)
    broker.flushdb()
    queue = JobQueue(settings, create_celery(settings))
    task_id = queue.publish(job_id="a" * 32, duration_s=100)
    message = json.loads(broker.lindex("analysis", 0))
    soft, hard = settings.job_time_limits(100)
    assert message["headers"]["timelimit"] == [hard, soft] and message["headers"]["id"] == task_id
    assert broker.get("classpulse:enqueued:" + "a" * 32) == task_id.encode()
    assert queue.missing_from_broker(["a" * 32, "b" * 32]) == {"b" * 32}
    queue.close()


def _keys(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"CLASSPULSE_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "cli", "keys", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keys_create_prints_the_key_once_and_stores_a_hash(tmp_path: Path) -> None:
    run = _keys(tmp_path, "create", "--customer", "acme")
    assert run.returncode == 0, run.stderr
    key = run.stdout.strip()
    assert key.startswith("cp_") and len(key) > 40 and "shown once" in run.stderr
    assert key.encode() not in (tmp_path / "classpulse.db").read_bytes()

    from storage import crud
    from storage.db import dispose_engines, get_engine, session_scope

    with session_scope(get_engine(f"sqlite:///{tmp_path / 'classpulse.db'}")) as session:
        assert crud.customer_for_api_key(session, key=key).name == "acme"
        assert crud.customer_for_api_key(session, key=key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    dispose_engines()


def test_keys_list_shows_no_secret_and_revoke_locks_the_key_out(tmp_path: Path) -> None:
    keys = [_keys(tmp_path, "create", "--customer", c).stdout.strip() for c in ("acme", "globex")]
    listed = [json.loads(line) for line in _keys(tmp_path, "list").stdout.splitlines()]
    assert [k["customer"] for k in listed] == ["acme", "globex"]
    assert all(k["revoked_at"] is None and k["prefix"] in keys[i] for i, k in enumerate(listed))
    only_acme = _keys(tmp_path, "list", "--customer", "acme").stdout
    assert keys[0].split("_", 2)[2] not in only_acme and "globex" not in only_acme

    assert _keys(tmp_path, "revoke", listed[0]["prefix"]).returncode == 0
    again = _keys(tmp_path, "revoke", listed[0]["prefix"])
    assert again.returncode == 1 and "no live API key" in again.stderr

    from storage import crud
    from storage.db import dispose_engines, get_engine, session_scope

    with session_scope(get_engine(f"sqlite:///{tmp_path / 'classpulse.db'}")) as session:
        assert crud.customer_for_api_key(session, key=keys[0]) is None
        assert crud.customer_for_api_key(session, key=keys[1]).name == "globex"
        assert crud.list_api_keys(session, customer="acme")[0]["revoked_at"] is not None
    dispose_engines()
